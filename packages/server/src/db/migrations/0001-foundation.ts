import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Packs, builds, trusted build keys and API tokens. Written with the schema builder only,
 * so the same migration runs on SQLite and PostgreSQL. Times are ISO 8601 text.
 */
export const foundation: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('builds')
      .addColumn('id', 'text', (col) => col.primaryKey())
      .addColumn('status', 'text', (col) =>
        col.notNull().check(sql`status in ('passed', 'failed')`),
      )
      .addColumn('gates_json', 'text', (col) => col.notNull())
      .addColumn('pack_digest', 'text')
      .addColumn('source_json', 'text')
      .addColumn('inputs_json', 'text')
      .addColumn('reported_at', 'text', (col) => col.notNull())
      .addColumn('reported_by', 'text', (col) => col.notNull())
      .execute();
    await db.schema
      .createIndex('builds_reported_at_idx')
      .on('builds')
      .columns(['reported_at', 'id'])
      .execute();
    await db.schema
      .createIndex('builds_status_reported_at_idx')
      .on('builds')
      .columns(['status', 'reported_at'])
      .execute();

    await db.schema
      .createTable('packs')
      .addColumn('digest', 'text', (col) => col.primaryKey())
      .addColumn('name', 'text', (col) => col.notNull())
      .addColumn('version', 'text', (col) => col.notNull())
      .addColumn('sequence', 'integer', (col) => col.notNull())
      .addColumn('build_id', 'text', (col) => col.notNull().references('builds.id'))
      .addColumn('manifest_json', 'text', (col) => col.notNull())
      .addColumn('size', 'bigint', (col) => col.notNull())
      .addColumn('created_at', 'text', (col) => col.notNull())
      .addColumn('pushed_at', 'text', (col) => col.notNull())
      .addColumn('pushed_by', 'text', (col) => col.notNull())
      .addUniqueConstraint('packs_name_version_unique', ['name', 'version'])
      .execute();
    await db.schema
      .createIndex('packs_pushed_at_idx')
      .on('packs')
      .columns(['pushed_at', 'sequence'])
      .execute();
    await db.schema
      .createIndex('packs_name_pushed_at_idx')
      .on('packs')
      .columns(['name', 'pushed_at'])
      .execute();
    await db.schema.createIndex('packs_build_id_idx').on('packs').column('build_id').execute();

    await db.schema
      .createTable('trusted_keys')
      .addColumn('key_id', 'text', (col) => col.primaryKey())
      .addColumn('name', 'text', (col) => col.notNull())
      .addColumn('public_key_pem', 'text', (col) => col.notNull())
      .addColumn('added_at', 'text', (col) => col.notNull())
      .addColumn('added_by', 'text', (col) => col.notNull())
      .execute();

    await db.schema
      .createTable('api_tokens')
      .addColumn('id', 'text', (col) => col.primaryKey())
      .addColumn('name', 'text', (col) => col.notNull())
      .addColumn('token_hash', 'text', (col) => col.notNull().unique())
      .addColumn('role', 'text', (col) => col.notNull())
      .addColumn('created_at', 'text', (col) => col.notNull())
      .addColumn('revoked_at', 'text')
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('api_tokens').execute();
    await db.schema.dropTable('trusted_keys').execute();
    await db.schema.dropTable('packs').execute();
    await db.schema.dropTable('builds').execute();
  },
};
