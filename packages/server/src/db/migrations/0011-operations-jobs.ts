import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * The server's own operations jobs (features/operations):
 *
 * - `freeze_starts`: one row per occurrence of a freeze window whose start was announced
 *   (`freeze.window_started`), keyed by environment, window id and the occurrence's start. The
 *   row is inserted in the transaction that records the decision, so a window's occurrence is
 *   announced once, whichever server sees it begin and however often it looks.
 * - `slo_samples`: good and total events of a service level indicator per minute, summed over
 *   the servers that counted them (each adds what it counted since its last flush). The error
 *   budget policy reads the sum over its window; rows older than the window are deleted.
 */
export const operationsJobs: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('freeze_starts')
      .addColumn('env', 'text', (col) => col.notNull())
      .addColumn('window_id', 'text', (col) => col.notNull())
      .addColumn('occurrence_from', 'text', (col) => col.notNull())
      .addColumn('announced_at', 'text', (col) => col.notNull())
      .addPrimaryKeyConstraint('freeze_starts_pk', ['env', 'window_id', 'occurrence_from'])
      .execute();

    await db.schema
      .createTable('slo_samples')
      .addColumn('slo', 'text', (col) => col.notNull())
      .addColumn('minute', 'text', (col) => col.notNull())
      .addColumn('good', 'bigint', (col) => col.notNull())
      .addColumn('total', 'bigint', (col) => col.notNull())
      .addPrimaryKeyConstraint('slo_samples_pk', ['slo', 'minute'])
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('slo_samples').execute();
    await db.schema.dropTable('freeze_starts').execute();
  },
};
