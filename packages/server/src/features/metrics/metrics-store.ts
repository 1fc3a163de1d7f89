import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';

/** A target of a channel whose desired pack depends on the target: who it is and what it runs. */
export interface TargetFleetRow {
  id: string;
  labels: Record<string, string>;
  activePack: string | null;
}

/** The latest signed checkpoint of the log, and when the log's first record was appended. */
export interface CheckpointState {
  /** records the latest checkpoint covers; 0 when none was signed */
  size: number;
  /** when the latest checkpoint was signed; null when none was */
  signedAt: string | null;
  /** when record 1 was appended; null for an empty log */
  firstRecordAt: string | null;
}

/** Aggregate reads for `/metrics`; nothing here writes. */
export interface MetricsStore {
  /** live and ended releases, counted by state */
  releasesByState(): Promise<Map<string, number>>;
  /** the live releases' last change (updated_at), by state */
  liveReleaseChanges(): Promise<{ state: string; updatedAt: string }[]>;
  /** records in the decision log (the chain head's seq) */
  decisionLogSize(): Promise<number>;
  checkpointState(): Promise<CheckpointState>;
  /**
   * The targets of one channel with what drift needs, read only for a channel whose index gives
   * targets different packs (a partial rollout, a cohort pin); counts come from the target store.
   */
  channelFleet(env: string, channel: string): Promise<TargetFleetRow[]>;
}

const LIVE = ['requested', 'verifying', 'rolling', 'paused'];

export function createMetricsStore(db: Kysely<Database>): MetricsStore {
  return {
    async releasesByState() {
      const rows = await db
        .selectFrom('releases')
        .select(['state', db.fn.countAll<number | string>().as('count')])
        .groupBy('state')
        .execute();
      return new Map(rows.map((row) => [row.state, Number(row.count)]));
    },
    async liveReleaseChanges() {
      const rows = await db
        .selectFrom('releases')
        .select(['state', 'updated_at'])
        .where('state', 'in', LIVE)
        .execute();
      return rows.map((row) => ({ state: row.state, updatedAt: row.updated_at }));
    },
    async decisionLogSize() {
      const row = await db
        .selectFrom('decision_chain')
        .select('last_seq')
        .where('id', '=', 1)
        .executeTakeFirst();
      return row === undefined ? 0 : Number(row.last_seq);
    },
    async checkpointState() {
      const latest = await db
        .selectFrom('log_checkpoints')
        .select(['size', 'created_at'])
        .orderBy('size', 'desc')
        .limit(1)
        .executeTakeFirst();
      const first = await db
        .selectFrom('decision_records')
        .select('at')
        .where('seq', '=', 1)
        .executeTakeFirst();
      return {
        size: latest === undefined ? 0 : Number(latest.size),
        signedAt: latest?.created_at ?? null,
        firstRecordAt: first?.at ?? null,
      };
    },
    async channelFleet(env, channel) {
      const rows = await db
        .selectFrom('targets')
        .select(['id', 'labels_json', 'active_pack'])
        .where('env', '=', env)
        .where('channel', '=', channel)
        .execute();
      return rows.map((row) => ({
        id: row.id,
        labels: JSON.parse(row.labels_json) as Record<string, string>,
        activePack: row.active_pack,
      }));
    },
  };
}
