import { PostgresAdapter, sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * PostgreSQL only (SQLite serves one process, which tells its own changes in process): triggers
 * that NOTIFY `lockgate_changes` (change-feed.ts) in the transaction of the change, so every
 * replica's listener hears it when it commits, whichever code path made it.
 *
 * - `channels`: a new index version (`{"kind":"index","env","channel","version"}`).
 * - `api_tokens`: a token revoked (`{"kind":"token","id"}`).
 * - `targets`: registered, updated (its `updated_at`, what register stamps; reports do not change
 *   it) or deleted (`{"kind":"target","id","updatedAt"}`, updatedAt null when deleted).
 *
 * PostgreSQL folds identical notifications of one transaction into one, and delivers a
 * transaction's notifications together, after it commits, in commit order.
 */
const TRIGGERS = [
  {
    table: 'channels',
    events: 'insert or update of index_version',
    body: sql`
      if tg_op = 'INSERT' or new.index_version is distinct from old.index_version then
        perform pg_notify('lockgate_changes', json_build_object(
          'kind', 'index', 'env', new.env, 'channel', new.name,
          'version', new.index_version)::text);
      end if;
      return null;`,
  },
  {
    table: 'api_tokens',
    events: 'insert or update of revoked_at',
    body: sql`
      if new.revoked_at is not null and (tg_op = 'INSERT' or old.revoked_at is null) then
        perform pg_notify('lockgate_changes', json_build_object(
          'kind', 'token', 'id', new.id)::text);
      end if;
      return null;`,
  },
  {
    table: 'targets',
    // Not on every update: reports update targets (active pack, last report) many times a
    // second and leave updated_at alone; the trigger does not even run for them.
    events: 'insert or update of updated_at or delete',
    body: sql`
      if tg_op = 'DELETE' then
        perform pg_notify('lockgate_changes', json_build_object(
          'kind', 'target', 'id', old.id, 'updatedAt', null)::text);
      elsif tg_op = 'INSERT' or new.updated_at is distinct from old.updated_at then
        perform pg_notify('lockgate_changes', json_build_object(
          'kind', 'target', 'id', new.id, 'updatedAt', new.updated_at)::text);
      end if;
      return null;`,
  },
] as const;

const isPostgres = (db: Kysely<unknown>): boolean =>
  db.getExecutor().adapter instanceof PostgresAdapter;

export const changeNotifications: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    if (!isPostgres(db)) return;
    for (const { table, events, body } of TRIGGERS) {
      const name = sql.raw(`lockgate_notify_${table}`);
      await sql`create function ${name}() returns trigger language plpgsql as $$
        begin ${body}
        end $$`.execute(db);
      await sql`create trigger ${name} after ${sql.raw(events)} on ${sql.table(table)}
        for each row execute function ${name}()`.execute(db);
    }
  },

  async down(db: Kysely<unknown>): Promise<void> {
    if (!isPostgres(db)) return;
    for (const { table } of TRIGGERS) {
      const name = sql.raw(`lockgate_notify_${table}`);
      await sql`drop trigger if exists ${name} on ${sql.table(table)}`.execute(db);
      await sql`drop function if exists ${name}()`.execute(db);
    }
  },
};
