import type { Kysely, Selectable } from 'kysely';
import type { Database, ReleaseReplaysTable } from '../../db/schema.ts';

export type ReplayStatus = 'completed' | 'failed';

/** One decision that did not replay to the digest it was recorded with. */
export interface ReplayMismatch {
  /** the record's place in the log */
  seq: number;
  recordId: string;
  rule: string;
  /**
   * what went wrong: `field` (the replayed draft differs; `field` names where first),
   * `context_missing` (no context stored under the digest the record names),
   * `refused` (the current core refused the call: `actual` is its error code),
   * `decision_missing` (the replay returned fewer drafts than were recorded),
   * `decision_extra` (the replay returned more drafts than were recorded)
   */
  problem: 'field' | 'context_missing' | 'refused' | 'decision_missing' | 'decision_extra';
  /** the path into the draft of the first differing field (`inputs.gates[0].threshold`) */
  field: string | null;
  /** the recorded value (absent when the recorded draft has no such field) */
  expected?: unknown;
  /** the replayed value (absent when the replayed draft has no such field) */
  actual?: unknown;
  /** the core version recorded with the decision */
  recordedBy: string | null;
  /** false when the stored context no longer hashes to the digest the record names */
  contextIntact: boolean | null;
}

/** A record of the release that is not a core decision with a stored context. */
export interface ReplaySkipped {
  seq: number;
  rule: string;
  why: string;
}

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
