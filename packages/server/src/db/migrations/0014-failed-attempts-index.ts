import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * A release's status names the channel's targets whose last attempt failed (target store
 * `packSummary`). Without an index that read went through every target of the channel (39 ms
 * at 100,000 targets on PostgreSQL, each time the status is read). This partial index holds
 * only the targets whose last attempt failed, so the read touches those few rows.
 *
 * The predicate is the text the query uses as a literal. PostgreSQL and SQLite use a partial
 * index only when the query's WHERE holds the same term: not a bound parameter.
 */
export const FAILED_ATTEMPT_LIKE = '%"result":"failed"%';

export const failedAttemptsIndex: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createIndex('targets_failed_attempt_idx')
      .on('targets')
      .columns(['env', 'channel', 'id'])
      .where(sql.ref('last_attempt_json'), 'like', sql.lit(FAILED_ATTEMPT_LIKE))
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('targets_failed_attempt_idx').execute();
  },
};
