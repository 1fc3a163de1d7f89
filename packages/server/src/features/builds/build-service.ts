import { LockgateError } from '@lockgate/core';
import type { BuildRecord, BuildStatus } from '@lockgate/core';
import type { Clock } from '../../clock.ts';
import type { StoresOf } from '../../stores.ts';
import { sameBuild, toRecord } from './build-record.ts';
import type { BuildReport } from './build-record.ts';

/** The stores this module uses, and no others. */
type UsedStores = StoresOf<'builds'>;

export interface BuildService {
  /**
   * Records a build. `created` is false when the identical build was already reported;
   * BUILD_CONFLICT when the id was reported with other content.
   */
  report(report: BuildReport, actor: string): Promise<{ build: BuildRecord; created: boolean }>;
  /** BUILD_NOT_FOUND when unknown. */
  get(id: string): Promise<BuildRecord>;
  /** Newest first. */
  list(query: { status?: BuildStatus; limit: number }): Promise<BuildRecord[]>;
}

export function createBuildService(deps: { stores: UsedStores; clock: Clock }): BuildService {
  const { stores, clock } = deps;
  return {
    async report(report, actor) {
      const record = toRecord(report, clock().toISOString());
      if (await stores.builds.insert({ record, reportedBy: actor })) {
        return { build: record, created: true };
      }
      const existing = await stores.builds.find(record.id);
      if (existing === null) throw new Error(`Build ${record.id} vanished during insert`);
      if (!sameBuild(existing.record, record)) {
        throw new LockgateError(
          'BUILD_CONFLICT',
          `Build ${record.id} was already reported with different content.`,
          { details: { id: record.id, reportedAt: existing.record.reportedAt } },
        );
      }
      return { build: existing.record, created: false };
    },

    async get(id) {
      const stored = await stores.builds.find(id);
      if (stored === null) {
        throw new LockgateError('BUILD_NOT_FOUND', `No build has id ${id}.`, { details: { id } });
      }
      return stored.record;
    },

    async list(query) {
      return (await stores.builds.list(query)).map((stored) => stored.record);
    },
  };
}
