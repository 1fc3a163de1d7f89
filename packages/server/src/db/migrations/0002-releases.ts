import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/** Release states that are not terminal: at most one such release per channel. */
const ACTIVE_STATES = ['requested', 'verifying', 'rolling', 'paused'];

/**
 * Environments, channels, pins, rollback authorizations, revocations, freeze windows, plans,
 * targets and their reports, releases, the decision log with its hash-chain head, the server's
 * signing keys, the controller lease and idempotency keys. Schema builder only, so the same
 * migration runs on SQLite and PostgreSQL; times are ISO 8601 text, JSON is text.
 */
export const releases: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('environments')
      .addColumn('name', 'text', (col) => col.primaryKey())
      .addColumn('description', 'text', (col) => col.notNull())
      .addColumn('created_at', 'text', (col) => col.notNull())
      .addColumn('created_by', 'text', (col) => col.notNull())
      .execute();

    await db.schema
      .createTable('channels')
      .addColumn('env', 'text', (col) => col.notNull().references('environments.name'))
      .addColumn('name', 'text', (col) => col.notNull())
      .addColumn('plan', 'text', (col) => col.notNull())
      .addColumn('floor', 'integer')
      .addColumn('constraints_json', 'text', (col) => col.notNull())
      .addColumn('cohorts_json', 'text', (col) => col.notNull())
      .addColumn('index_ttl_seconds', 'integer', (col) => col.notNull())
      .addColumn('base', 'text')
      .addColumn('lkg', 'text')
      .addColumn('rollout_json', 'text')
      .addColumn('active_release', 'text')
      .addColumn('index_version', 'integer', (col) => col.notNull())
      .addColumn('index_envelope_json', 'text', (col) => col.notNull())
      .addColumn('index_expires_at', 'text', (col) => col.notNull())
      .addColumn('created_at', 'text', (col) => col.notNull())
      .addColumn('created_by', 'text', (col) => col.notNull())
      .addColumn('updated_at', 'text', (col) => col.notNull())
      .addColumn('updated_by', 'text', (col) => col.notNull())
      .addPrimaryKeyConstraint('channels_pk', ['env', 'name'])
      .execute();
    await db.schema
      .createIndex('channels_index_expires_at_idx')
      .on('channels')
      .column('index_expires_at')
      .execute();

    await db.schema
      .createTable('pins')
      .addColumn('env', 'text', (col) => col.notNull())
      .addColumn('channel', 'text', (col) => col.notNull())
      .addColumn('cohort', 'text', (col) => col.notNull())
      .addColumn('selector_json', 'text')
      .addColumn('pack', 'text', (col) => col.notNull())
      .addColumn('reason', 'text', (col) => col.notNull())
      .addColumn('actor', 'text', (col) => col.notNull())
      .addColumn('created_at', 'text', (col) => col.notNull())
      .addColumn('expires_at', 'text', (col) => col.notNull())
      .addPrimaryKeyConstraint('pins_pk', ['env', 'channel', 'cohort'])
      .addForeignKeyConstraint('pins_channel_fk', ['env', 'channel'], 'channels', ['env', 'name'])
      .execute();
    await db.schema.createIndex('pins_expires_at_idx').on('pins').column('expires_at').execute();

    await db.schema
      .createTable('rollback_authorizations')
      .addColumn('id', 'text', (col) => col.primaryKey())
      .addColumn('env', 'text', (col) => col.notNull())
      .addColumn('channel', 'text', (col) => col.notNull())
      .addColumn('pack', 'text', (col) => col.notNull())
      .addColumn('reason', 'text', (col) => col.notNull())
      .addColumn('actor', 'text', (col) => col.notNull())
      .addColumn('created_at', 'text', (col) => col.notNull())
      .addColumn('expires_at', 'text', (col) => col.notNull())
      .addForeignKeyConstraint(
        'rollback_authorizations_channel_fk',
        ['env', 'channel'],
        'channels',
        ['env', 'name'],
      )
      .execute();
    await db.schema
      .createIndex('rollback_authorizations_channel_idx')
      .on('rollback_authorizations')
      .columns(['env', 'channel', 'expires_at'])
      .execute();

    await db.schema
      .createTable('revocations')
      .addColumn('pack', 'text', (col) => col.primaryKey())
      .addColumn('reason', 'text', (col) => col.notNull())
      .addColumn('actor', 'text', (col) => col.notNull())
      .addColumn('revoked_at', 'text', (col) => col.notNull())
      .execute();

    await db.schema
      .createTable('freeze_windows')
      .addColumn('id', 'text', (col) => col.primaryKey())
      .addColumn('env', 'text', (col) => col.notNull().references('environments.name'))
      .addColumn('window_json', 'text', (col) => col.notNull())
      .addColumn('created_at', 'text', (col) => col.notNull())
      .addColumn('created_by', 'text', (col) => col.notNull())
      .execute();
    await db.schema
      .createIndex('freeze_windows_env_idx')
      .on('freeze_windows')
      .columns(['env', 'created_at'])
      .execute();

    await db.schema
      .createTable('plans')
      .addColumn('name', 'text', (col) => col.primaryKey())
      .addColumn('plan_json', 'text', (col) => col.notNull())
      .addColumn('created_at', 'text', (col) => col.notNull())
      .addColumn('created_by', 'text', (col) => col.notNull())
      .addColumn('updated_at', 'text', (col) => col.notNull())
      .addColumn('updated_by', 'text', (col) => col.notNull())
      .execute();

    await db.schema
      .createTable('targets')
      .addColumn('id', 'text', (col) => col.primaryKey())
      .addColumn('env', 'text', (col) => col.notNull())
      .addColumn('channel', 'text', (col) => col.notNull())
      .addColumn('labels_json', 'text', (col) => col.notNull())
      .addColumn('capabilities_json', 'text', (col) => col.notNull())
      .addColumn('active_pack', 'text')
      .addColumn('last_attempt_json', 'text')
      .addColumn('last_report_at', 'text')
      .addColumn('registered_at', 'text', (col) => col.notNull())
      .addColumn('updated_at', 'text', (col) => col.notNull())
      .addForeignKeyConstraint('targets_channel_fk', ['env', 'channel'], 'channels', [
        'env',
        'name',
      ])
      .execute();
    await db.schema
      .createIndex('targets_channel_idx')
      .on('targets')
      .columns(['env', 'channel', 'id'])
      .execute();

    await db.schema
      .createTable('target_reports')
      .addColumn('id', 'text', (col) => col.primaryKey())
      .addColumn('target_id', 'text', (col) => col.notNull())
      .addColumn('env', 'text', (col) => col.notNull())
      .addColumn('channel', 'text', (col) => col.notNull())
      .addColumn('at', 'text', (col) => col.notNull())
      .addColumn('active_pack', 'text')
      .addColumn('last_attempt_json', 'text')
      .addColumn('health_json', 'text')
      .execute();
    await db.schema
      .createIndex('target_reports_channel_at_idx')
      .on('target_reports')
      .columns(['env', 'channel', 'at'])
      .execute();
    await db.schema
      .createIndex('target_reports_at_idx')
      .on('target_reports')
      .column('at')
      .execute();

    await db.schema
      .createTable('releases')
      .addColumn('id', 'text', (col) => col.primaryKey())
      .addColumn('env', 'text', (col) => col.notNull())
      .addColumn('channel', 'text', (col) => col.notNull())
      .addColumn('pack', 'text', (col) => col.notNull())
      .addColumn('state', 'text', (col) => col.notNull())
      .addColumn('version', 'integer', (col) => col.notNull())
      .addColumn('release_json', 'text', (col) => col.notNull())
      .addColumn('created_at', 'text', (col) => col.notNull())
      .addColumn('updated_at', 'text', (col) => col.notNull())
      .addForeignKeyConstraint('releases_channel_fk', ['env', 'channel'], 'channels', [
        'env',
        'name',
      ])
      .execute();
    await db.schema
      .createIndex('releases_channel_created_at_idx')
      .on('releases')
      .columns(['env', 'channel', 'created_at'])
      .execute();
    await db.schema
      .createIndex('releases_created_at_idx')
      .on('releases')
      .columns(['created_at', 'id'])
      .execute();
    await db.schema.createIndex('releases_state_idx').on('releases').column('state').execute();
    // At most one active release per channel, whatever the application does.
    await db.schema
      .createIndex('releases_one_active_per_channel')
      .on('releases')
      .columns(['env', 'channel'])
      .unique()
      .where(sql.ref('state'), 'in', ACTIVE_STATES)
      .execute();

    await db.schema
      .createTable('decision_records')
      .addColumn('seq', 'bigint', (col) => col.primaryKey())
      .addColumn('id', 'text', (col) => col.notNull().unique())
      .addColumn('release_id', 'text')
      .addColumn('env', 'text')
      .addColumn('channel', 'text')
      .addColumn('at', 'text', (col) => col.notNull())
      .addColumn('kind', 'text', (col) => col.notNull())
      .addColumn('rule', 'text', (col) => col.notNull())
      .addColumn('actor', 'text', (col) => col.notNull())
      .addColumn('reason', 'text')
      .addColumn('from_state', 'text')
      .addColumn('to_state', 'text')
      .addColumn('stage_index', 'integer')
      .addColumn('inputs_json', 'text', (col) => col.notNull())
      .addColumn('verdict', 'text', (col) => col.notNull())
      .addColumn('holder', 'text')
      .addColumn('digest', 'text', (col) => col.notNull())
      .addColumn('prev_digest', 'text')
      .execute();
    await db.schema
      .createIndex('decision_records_release_idx')
      .on('decision_records')
      .columns(['release_id', 'seq'])
      .execute();
    await db.schema
      .createIndex('decision_records_channel_idx')
      .on('decision_records')
      .columns(['env', 'channel', 'seq'])
      .execute();

    await db.schema
      .createTable('decision_chain')
      .addColumn('id', 'integer', (col) => col.primaryKey())
      .addColumn('last_seq', 'bigint', (col) => col.notNull())
      .addColumn('last_digest', 'text')
      .execute();
    await sql`insert into decision_chain (id, last_seq, last_digest) values (1, 0, null)`.execute(
      db,
    );

    await db.schema
      .createTable('server_keys')
      .addColumn('key_id', 'text', (col) => col.primaryKey())
      .addColumn('use', 'text', (col) => col.notNull().unique())
      .addColumn('private_key_pem', 'text', (col) => col.notNull())
      .addColumn('public_key_pem', 'text', (col) => col.notNull())
      .addColumn('created_at', 'text', (col) => col.notNull())
      .execute();

    await db.schema
      .createTable('controller_lease')
      .addColumn('name', 'text', (col) => col.primaryKey())
      .addColumn('holder', 'text', (col) => col.notNull())
      .addColumn('expires_at', 'text', (col) => col.notNull())
      .addColumn('renewed_at', 'text', (col) => col.notNull())
      .execute();

    await db.schema
      .createTable('idempotency_keys')
      .addColumn('actor', 'text', (col) => col.notNull())
      .addColumn('key', 'text', (col) => col.notNull())
      .addColumn('scope', 'text', (col) => col.notNull())
      .addColumn('request_hash', 'text', (col) => col.notNull())
      .addColumn('response_json', 'text', (col) => col.notNull())
      .addColumn('created_at', 'text', (col) => col.notNull())
      .addPrimaryKeyConstraint('idempotency_keys_pk', ['actor', 'key'])
      .execute();
    await db.schema
      .createIndex('idempotency_keys_created_at_idx')
      .on('idempotency_keys')
      .column('created_at')
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of [
      'idempotency_keys',
      'controller_lease',
      'server_keys',
      'decision_chain',
      'decision_records',
      'releases',
      'target_reports',
      'targets',
      'plans',
      'freeze_windows',
      'revocations',
      'rollback_authorizations',
      'pins',
      'channels',
      'environments',
    ]) {
      await db.schema.dropTable(table).execute();
    }
  },
};
