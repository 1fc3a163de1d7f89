import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { SliCounts } from './availability-sli.ts';

/** Events of service level indicators per minute, summed over the servers that counted them. */
export interface SloStore {
  /** Adds counts to the minute's sample (another server's counts of that minute add up). */
  addSample(slo: string, minute: string, counts: SliCounts): Promise<void>;
  /** The sum of the samples from `since` (a minute's start, inclusive). */
  totals(slo: string, since: string): Promise<SliCounts>;
  /** Deletes samples before `before`; returns how many. */
  prune(slo: string, before: string): Promise<number>;
}

export function createSloStore(db: Kysely<Database>): SloStore {
  return {
    async addSample(slo, minute, counts) {
      await db
        .insertInto('slo_samples')
        .values({ slo, minute, good: counts.good, total: counts.total })
        .onConflict((conflict) =>
          conflict.columns(['slo', 'minute']).doUpdateSet({
            good: sql<number>`slo_samples.good + excluded.good`,
            total: sql<number>`slo_samples.total + excluded.total`,
          }),
        )
        .execute();
    },
    async totals(slo, since) {
      const row = await db
        .selectFrom('slo_samples')
        .select([
          db.fn.sum<number | string | null>('good').as('good'),
          db.fn.sum<number | string | null>('total').as('total'),
        ])
        .where('slo', '=', slo)
        .where('minute', '>=', since)
        .executeTakeFirst();
      return { good: Number(row?.good ?? 0), total: Number(row?.total ?? 0) };
    },
    async prune(slo, before) {
      const result = await db
        .deleteFrom('slo_samples')
        .where('slo', '=', slo)
        .where('minute', '<', before)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
