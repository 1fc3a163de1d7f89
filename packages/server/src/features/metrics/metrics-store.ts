import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';

/** What a target contributes to the fleet gauges: where it is, what it runs, when it spoke. */
export interface TargetFleetRow {
  id: string;
  env: string;
  channel: string;
  labels: Record<string, string>;
  activePack: string | null;
  lastReportAt: string | null;
  registeredAt: string;
}

/** Aggregate reads for `/metrics`; nothing here writes. */
export interface MetricsStore {
  /** live and ended releases, counted by state */
  releasesByState(): Promise<Map<string, number>>;
  /** the live releases' last change (updated_at), by state */
  liveReleaseChanges(): Promise<{ state: string; updatedAt: string }[]>;
  /** records in the decision log (the chain head's seq) */
  decisionLogSize(): Promise<number>;
  /** every target with what the fleet gauges need (one pass over the targets table) */
  fleet(): Promise<TargetFleetRow[]>;
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
    async fleet() {
      const rows = await db
        .selectFrom('targets')
        .select([
          'id',
          'env',
          'channel',
          'labels_json',
          'active_pack',
          'last_report_at',
          'registered_at',
        ])
        .execute();
      return rows.map((row) => ({
        id: row.id,
        env: row.env,
        channel: row.channel,
        labels: JSON.parse(row.labels_json) as Record<string, string>,
        activePack: row.active_pack,
        lastReportAt: row.last_report_at,
        registeredAt: row.registered_at,
      }));
    },
  };
}
