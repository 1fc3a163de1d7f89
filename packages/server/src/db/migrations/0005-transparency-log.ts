import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * The transparency log (issue 9, docs/evidence.md): one entry per decision record (leaf
 * seq - 1: the DSSE envelope of its in-toto statement and the leaf hash), the hash of every
 * complete subtree (so proofs read O(log n) rows), the head (size and compact range, locked on
 * append like decision_chain), signed checkpoints and witness cosignatures. Hashes are base64.
 */
export const transparencyLog: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('log_entries')
      .addColumn('seq', 'bigint', (col) => col.primaryKey())
      .addColumn('leaf_hash', 'text', (col) => col.notNull())
      .addColumn('envelope_json', 'text', (col) => col.notNull())
      .execute();

    await db.schema
      .createTable('log_nodes')
      .addColumn('level', 'integer', (col) => col.notNull())
      .addColumn('idx', 'bigint', (col) => col.notNull())
      .addColumn('hash', 'text', (col) => col.notNull())
      .addPrimaryKeyConstraint('log_nodes_pk', ['level', 'idx'])
      .execute();

    await db.schema
      .createTable('log_head')
      .addColumn('id', 'integer', (col) => col.primaryKey())
      .addColumn('size', 'bigint', (col) => col.notNull())
      .addColumn('range_json', 'text', (col) => col.notNull())
      .execute();
    await sql`insert into log_head (id, size, range_json) values (1, 0, '[]')`.execute(db);

    await db.schema
      .createTable('log_checkpoints')
      .addColumn('size', 'bigint', (col) => col.primaryKey())
      .addColumn('root_hash', 'text', (col) => col.notNull())
      .addColumn('note', 'text', (col) => col.notNull())
      .addColumn('created_at', 'text', (col) => col.notNull())
      .execute();

    await db.schema
      .createTable('log_cosignatures')
      .addColumn('size', 'bigint', (col) => col.notNull())
      .addColumn('witness', 'text', (col) => col.notNull())
      .addColumn('key_id', 'text', (col) => col.notNull())
      .addColumn('line', 'text', (col) => col.notNull())
      .addColumn('timestamp', 'bigint', (col) => col.notNull())
      .addColumn('created_at', 'text', (col) => col.notNull())
      .addPrimaryKeyConstraint('log_cosignatures_pk', ['size', 'witness', 'key_id'])
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of [
      'log_cosignatures',
      'log_checkpoints',
      'log_head',
      'log_nodes',
      'log_entries',
    ]) {
      await db.schema.dropTable(table).execute();
    }
  },
};
