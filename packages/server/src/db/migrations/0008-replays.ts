import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Replay (docs/replay.md): the decision contexts core decided on, the core version of each
 * decision record, and the replay requests of releases.
 *
 * - `decision_contexts`: one row per distinct context, keyed by its digest (`sha256:` + hex of
 *   the JCS bytes, the digest a decision draft names in `inputs.context`); the JCS bytes are
 *   brotli-compressed and kept as base64 text, so both dialects and the backup's JSON lines carry
 *   them as they carry every other column. Never deleted: a context lives as long as the records
 *   that name it (the target reports it holds outlive the 24 h report retention).
 * - `decision_records.core_version`: the core that decided (`0.1.0+decide.1`); null on records
 *   written before this migration, whose digest rule it does not enter (decision-log.ts).
 * - `release_replays`: each replay request with its figures and its mismatches (JSON).
 *
 * Numbered 0008: 0005 is the transparency log's and 0007 may be taken by work landing in
 * parallel; the migrator runs them in name order, whatever order they land in.
 */
export const replays: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('decision_contexts')
      .addColumn('digest', 'text', (col) => col.primaryKey())
      .addColumn('encoding', 'text', (col) => col.notNull())
      .addColumn('body', 'text', (col) => col.notNull())
      .addColumn('size', 'integer', (col) => col.notNull())
      .addColumn('stored_at', 'text', (col) => col.notNull())
      .execute();

    await db.schema.alterTable('decision_records').addColumn('core_version', 'text').execute();

    await db.schema
      .createTable('release_replays')
      .addColumn('id', 'text', (col) => col.primaryKey())
      .addColumn('release_id', 'text', (col) => col.notNull())
      .addColumn('requester', 'text', (col) => col.notNull())
      .addColumn('reason', 'text', (col) => col.notNull())
      .addColumn('status', 'text', (col) => col.notNull())
      .addColumn('core_version', 'text', (col) => col.notNull())
      .addColumn('created_at', 'text', (col) => col.notNull())
      .addColumn('finished_at', 'text')
      .addColumn('result_json', 'text', (col) => col.notNull())
      .execute();
    await db.schema
      .createIndex('release_replays_release_idx')
      .on('release_replays')
      .columns(['release_id', 'created_at'])
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('release_replays').execute();
    await db.schema.alterTable('decision_records').dropColumn('core_version').execute();
    await db.schema.dropTable('decision_contexts').execute();
  },
};
