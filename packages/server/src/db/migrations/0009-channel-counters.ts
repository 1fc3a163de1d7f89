import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * What lets the controller read only what changed since its last tick:
 *
 * - `channel_counters`: per channel, `targets_generation` (bumped in the transaction that
 *   registers, updates or moves a target of the channel: the stage membership computed from the
 *   previous generation is stale) and `report_seq` (the last sequence number given to a report of
 *   the channel).
 * - `target_reports.seq`: the report's sequence number in its channel. A batch of reports takes
 *   its numbers from `report_seq` with the counter row locked until it commits, so numbers
 *   become visible in order: a reader that saw `seq = n` has seen every report with a smaller
 *   number. Reports stored before this migration have none (they are read by time only).
 */
export const channelCounters: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('channel_counters')
      .addColumn('env', 'text', (col) => col.notNull())
      .addColumn('channel', 'text', (col) => col.notNull())
      .addColumn('targets_generation', 'bigint', (col) => col.notNull().defaultTo(0))
      .addColumn('report_seq', 'bigint', (col) => col.notNull().defaultTo(0))
      .addPrimaryKeyConstraint('channel_counters_pk', ['env', 'channel'])
      .execute();
    await db.schema.alterTable('target_reports').addColumn('seq', 'bigint').execute();
    await db.schema
      .createIndex('target_reports_channel_seq_idx')
      .on('target_reports')
      .columns(['env', 'channel', 'seq'])
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('target_reports_channel_seq_idx').execute();
    await db.schema.alterTable('target_reports').dropColumn('seq').execute();
    await db.schema.dropTable('channel_counters').execute();
  },
};
