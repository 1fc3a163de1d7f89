/**
 * Replay requests of a release. A request runs in the HTTP request that makes it (synchronous):
 * a release has tens to a few hundred decisions and each replay is one pure core call on a
 * stored context, so the answer comes back with the figures; the request is stored with its
 * status (`completed`, or `failed` with the error when the replay could not run) and listed
 * newest first. Nothing is written but the request itself.
 */
import { randomUUID } from 'node:crypto';
import { CORE_VERSION, LockgateError } from '@lockgate/core';
import type { Clock } from '../../clock.ts';
import type { StoresOf } from '../../stores.ts';
import { replayRelease } from './release-replay.ts';
import type { ReplayResult, StoredReplay } from './replay-store.ts';

/** A replay request as the API shows it: the request with its figures flattened in. */
export type ReplayView = Omit<StoredReplay, 'result'> & ReplayResult;

export interface ReplayService {
  /** Replays every decision of the release now; RELEASE_NOT_FOUND when unknown. */
  create(release: string, input: { reason: string }, requester: string): Promise<ReplayView>;
  /** The release's replays, newest first; RELEASE_NOT_FOUND when unknown. */
  list(release: string, limit: number): Promise<ReplayView[]>;
}

export function createReplayService(deps: {
  stores: StoresOf<'releases' | 'decisions' | 'contexts' | 'replays'>;
  clock: Clock;
  onError?: (error: unknown, context: Record<string, unknown>) => void;
}): ReplayService {
  const { stores, clock } = deps;

  const mustExist = async (release: string): Promise<void> => {
    if ((await stores.releases.find(release)) === null) {
      throw new LockgateError('RELEASE_NOT_FOUND', `No release has id ${release}.`, {
        details: { id: release },
      });
    }
  };

  return {
    async create(release, input, requester) {
      await mustExist(release);
      const createdAt = clock().toISOString();
      let result: ReplayResult;
      let status: StoredReplay['status'] = 'completed';
      try {
        result = await replayRelease(stores, release);
      } catch (error) {
        deps.onError?.(error, { release, step: 'replay' });
        status = 'failed';
        result = {
          total: 0,
          matching: 0,
          mismatches: 0,
          matchRate: 0,
          mismatched: [],
          skipped: [],
          error:
            error instanceof LockgateError ? `${error.code}: ${error.message}` : 'internal error',
        };
      }
      const replay: StoredReplay = {
        id: `rpl_${randomUUID()}`,
        release,
        requester,
        reason: input.reason,
        status,
        coreVersion: CORE_VERSION,
        createdAt,
        finishedAt: clock().toISOString(),
        result,
      };
      await stores.replays.insert(replay);
      return viewOf(replay);
    },

    async list(release, limit) {
      await mustExist(release);
      return (await stores.replays.listByRelease(release, limit)).map(viewOf);
    },
  };
}

function viewOf(replay: StoredReplay): ReplayView {
  const { result, ...request } = replay;
  return { ...request, ...result };
}
