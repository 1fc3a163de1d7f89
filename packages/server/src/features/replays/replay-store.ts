import type { Kysely, Selectable } from 'kysely';
import type { ReplayMismatch, ReplaySkipped } from '@lockgate/core';
import type { Database, ReleaseReplaysTable } from '../../db/schema.ts';

export type ReplayStatus = 'completed' | 'failed';

/** One decision that did not replay, and a record left out (core replay-records.ts). */
export type { ReplayMismatch, ReplaySkipped } from '@lockgate/core';

/** The figures of one replay and what did not match. */
export interface ReplayResult {
  /** decisions re-run */
  total: number;
  matching: number;
  mismatches: number;
  /** matching / total; 1 when there was nothing to replay */
  matchRate: number;
  /** every mismatch, in log order */
  mismatched: ReplayMismatch[];
  /** records of the release left out, in log order */
  skipped: ReplaySkipped[];
  /** why the replay could not run (status failed); null otherwise */
  error: string | null;
}

export interface StoredReplay {
  id: string;
  release: string;
  requester: string;
  reason: string;
  status: ReplayStatus;
  /** the core that replayed */
  coreVersion: string;
  createdAt: string;
  finishedAt: string | null;
  result: ReplayResult;
}

export interface ReplayStore {
  insert(replay: StoredReplay): Promise<void>;
  /** The release's replays, newest first. */
  listByRelease(release: string, limit: number): Promise<StoredReplay[]>;
}

export function createReplayStore(db: Kysely<Database>): ReplayStore {
  return {
    async insert(replay) {
      await db
        .insertInto('release_replays')
        .values({
          id: replay.id,
          release_id: replay.release,
          requester: replay.requester,
          reason: replay.reason,
          status: replay.status,
          core_version: replay.coreVersion,
          created_at: replay.createdAt,
          finished_at: replay.finishedAt,
          result_json: JSON.stringify(replay.result),
        })
        .execute();
    },

    async listByRelease(release, limit) {
      const rows = await db
        .selectFrom('release_replays')
        .selectAll()
        .where('release_id', '=', release)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return rows.map(fromRow);
    },
  };
}

function fromRow(row: Selectable<ReleaseReplaysTable>): StoredReplay {
  return {
    id: row.id,
    release: row.release_id,
    requester: row.requester,
    reason: row.reason,
    status: row.status as ReplayStatus,
    coreVersion: row.core_version,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
    result: JSON.parse(row.result_json) as ReplayResult,
  };
}
