/**
 * How a batch of reports is written (the target store's `recordReports`), apart from the store
 * because it is its own concern: the fewest statements per batch on each database.
 *
 * Invariants:
 * - Each channel's report numbers (`seq`) are taken by bumping its counter row, which stays
 *   locked until the transaction ends (PostgreSQL), so numbers become visible in order; counters
 *   are bumped in one sorted order, as `upsert` does, so two writers never wait on each other in
 *   a cycle.
 * - Each target is updated once, to what its reports of the batch leave it at: active pack and
 *   time of its last report, the last attempt of its last report that carries one.
 * - The same rows as one report at a time, all of them or none: on PostgreSQL one statement
 *   (one round trip, its own transaction unless the caller's), on SQLite a transaction (the
 *   caller's, else one of its own).
 */
import type { TargetAttempt } from '@lockgate/core';
import { PostgresAdapter, sql } from 'kysely';
import type { Insertable, Kysely } from 'kysely';
import type { Database, TargetReportsTable } from '../../db/schema.ts';
import type { StoredReport } from './target-store.ts';

/**
 * Rows per multi-row insert (9 columns each): well under SQLite's limit of 32,766 bound
 * variables and PostgreSQL's 65,535.
 */
const INSERT_CHUNK_ROWS = 500;
/** Targets per `update … from (values …)` (4 bound values each). */
const UPDATE_CHUNK_ROWS = 1000;

/** What writing a batch tells its caller. */
export interface WrittenBatch {
  /** with `previous`: the last attempt each known target had before the batch; else empty */
  previous: Map<string, TargetAttempt | null>;
  /**
   * Per channel (`env\nchannel`), the number its first report of the batch was given: its
   * reports are numbered from there in batch order, one after another.
   */
  firstSeqs: Map<string, number>;
}

/** What a target is left at by its reports of the batch. */
interface LatestReport {
  activePack: string | null;
  at: string;
  attempt?: string;
}

export async function writeReportBatch(
  db: Kysely<Database>,
  reports: readonly StoredReport[],
  options: { previous: boolean },
): Promise<WrittenBatch> {
  const latest = new Map<string, LatestReport>();
  const rows = reports.map((report) => {
    const lastAttempt =
      report.lastAttempt === undefined ? null : JSON.stringify(report.lastAttempt);
    const before = latest.get(report.targetId);
    const attempt = lastAttempt ?? before?.attempt;
    latest.set(report.targetId, {
      activePack: report.activePack,
      at: report.at,
      ...(attempt === undefined ? {} : { attempt }),
    });
    return {
      id: report.id,
      target_id: report.targetId,
      env: report.env,
      channel: report.channel,
      at: report.at,
      active_pack: report.activePack,
      last_attempt_json: lastAttempt,
      health_json: report.health === undefined ? null : JSON.stringify(report.health),
      seq: 0,
    };
  });
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    return writeOnPostgres(db, rows, [...latest], options.previous);
  }
  if (!db.isTransaction) {
    return db.transaction().execute((trx) => writeOnSqlite(trx, rows, latest, options.previous));
  }
  return writeOnSqlite(db, rows, latest, options.previous);
}

async function writeOnSqlite(
  db: Kysely<Database>,
  rows: Insertable<TargetReportsTable>[],
  latest: ReadonlyMap<string, LatestReport>,
  readPrevious: boolean,
): Promise<WrittenBatch> {
  // SQLite (in process, statements cost no round trip): each channel's numbers taken with its
  // counter bumped first, then the rows in multi-row inserts, then each target's last report.
  const counts = new Map<string, { env: string; channel: string; n: number }>();
  for (const row of rows) {
    const key = `${row.env}\n${row.channel}`;
    const entry = counts.get(key) ?? { env: row.env, channel: row.channel, n: 0 };
    entry.n += 1;
    counts.set(key, entry);
  }
  const next = new Map<string, number>();
  for (const key of [...counts.keys()].sort()) {
    const entry = counts.get(key);
    if (entry === undefined) continue;
    const last = await bumpCounter(db, entry.env, entry.channel, 'reports', entry.n);
    next.set(key, last - entry.n + 1);
  }
  const firstSeqs = new Map(next);
  for (const row of rows) {
    const key = `${row.env}\n${row.channel}`;
    const seq = next.get(key) ?? 0;
    next.set(key, seq + 1);
    row.seq = seq;
  }
  for (let start = 0; start < rows.length; start += INSERT_CHUNK_ROWS) {
    await db
      .insertInto('target_reports')
      .values(rows.slice(start, start + INSERT_CHUNK_ROWS))
      .execute();
  }
  // One statement per chunk for the targets' last reports. SQLite cannot return a joined
  // table's columns: the attempts before the batch are read first.
  const updates = [...latest].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const previous = readPrevious
    ? await readLastAttempts(
        db,
        updates.map(([id]) => id),
      )
    : new Map<string, TargetAttempt | null>();
  for (let start = 0; start < updates.length; start += UPDATE_CHUNK_ROWS) {
    const values = updates
      .slice(start, start + UPDATE_CHUNK_ROWS)
      .map(
        ([id, update]) =>
          sql`(${id}, ${update.activePack}, ${update.at}, ${update.attempt ?? null})`,
      );
    await sql`with v (id, active_pack, at, attempt) as (values ${sql.join(values)})
          update targets set active_pack = v.active_pack, last_report_at = v.at,
            last_attempt_json = coalesce(v.attempt, targets.last_attempt_json)
          from v where targets.id = v.id`.execute(db);
  }
  return { previous, firstSeqs };
}

/** Ids per `where id in (…)`: well under SQLite's and PostgreSQL's bound-variable limits. */
const READ_CHUNK_ROWS = 500;

/** The stored last attempt of each of these targets; an unknown id is absent. */
export async function readLastAttempts(
  db: Kysely<Database>,
  ids: readonly string[],
): Promise<Map<string, TargetAttempt | null>> {
  const found = new Map<string, TargetAttempt | null>();
  const unique = [...new Set(ids)];
  for (let start = 0; start < unique.length; start += READ_CHUNK_ROWS) {
    const rows = await db
      .selectFrom('targets')
      .select(['id', 'last_attempt_json'])
      .where('id', 'in', unique.slice(start, start + READ_CHUNK_ROWS))
      .execute();
    for (const row of rows) {
      found.set(
        row.id,
        row.last_attempt_json === null
          ? null
          : (JSON.parse(row.last_attempt_json) as TargetAttempt),
      );
    }
  }
  return found;
}

/**
 * Adds `by` to one of the channel's counters (creating its row) and returns the new value; in
 * PostgreSQL the row stays locked until the transaction ends.
 */
export async function bumpCounter(
  db: Kysely<Database>,
  env: string,
  channel: string,
  counter: 'targets' | 'reports',
  by: number,
): Promise<number> {
  const column = counter === 'targets' ? 'targets_generation' : 'report_seq';
  const row = await db
    .insertInto('channel_counters')
    .values({ env, channel, [column]: by })
    .onConflict((conflict) =>
      conflict
        .columns(['env', 'channel'])
        .doUpdateSet({ [column]: sql<number>`${sql.ref(`channel_counters.${column}`)} + ${by}` }),
    )
    .returning(column)
    .executeTakeFirstOrThrow();
  return Number((row as Record<string, number | string>)[column]);
}

/**
 * PostgreSQL: the whole batch in one statement (so one round trip, atomic without a transaction
 * of its own): every column sent as one array (`unnest`), not one bound value per cell. The
 * channels' counters are bumped in (env, channel) order and their rows stay locked until the
 * statement's transaction ends; each row is numbered after its channel's previous value, in
 * batch order; the targets' update returns each one's attempt before it (`old`: the statement's
 * snapshot), and each channel's first number of the batch comes back with them.
 */
async function writeOnPostgres(
  db: Kysely<Database>,
  rows: readonly Insertable<TargetReportsTable>[],
  latest: readonly (readonly [string, LatestReport])[],
  readPrevious: boolean,
): Promise<WrittenBatch> {
  const column = <K extends keyof Insertable<TargetReportsTable>>(
    key: K,
  ): Insertable<TargetReportsTable>[K][] => rows.map((row) => row[key]);
  const sorted = [...latest].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const result = await sql<{
    previous: [string, string | null][] | null;
    firsts: [string, string, number | string][];
  }>`with v as (
      select * from unnest(${column('id')}::text[], ${column('target_id')}::text[],
        ${column('env')}::text[], ${column('channel')}::text[], ${column('at')}::text[],
        ${column('active_pack')}::text[], ${column('last_attempt_json')}::text[],
        ${column('health_json')}::text[])
        with ordinality as v (id, target_id, env, channel, at, active_pack, last_attempt_json,
          health_json, ord)
    ), n as (
      select env, channel, count(*) as n from v group by env, channel
    ), c as (
      insert into channel_counters (env, channel, report_seq)
      select env, channel, n from n order by env, channel
      on conflict (env, channel) do update
        set report_seq = channel_counters.report_seq + excluded.report_seq
      returning env, channel, report_seq
    ), inserted as (
      insert into target_reports
        (id, target_id, env, channel, at, active_pack, last_attempt_json, health_json, seq)
      select v.id, v.target_id, v.env, v.channel, v.at, v.active_pack, v.last_attempt_json,
        v.health_json,
        c.report_seq - n.n + row_number() over (partition by v.env, v.channel order by v.ord)
      from v join n on n.env = v.env and n.channel = v.channel
        join c on c.env = v.env and c.channel = v.channel
    ), t as (
      select * from unnest(${sorted.map(([id]) => id)}::text[],
        ${sorted.map(([, last]) => last.activePack)}::text[],
        ${sorted.map(([, last]) => last.at)}::text[],
        ${sorted.map(([, last]) => last.attempt ?? null)}::text[]) as t (id, active_pack, at, attempt)
    ), updated as (
      update targets set active_pack = t.active_pack, last_report_at = t.at,
        last_attempt_json = coalesce(t.attempt, targets.last_attempt_json)
      from t join targets as old on old.id = t.id
      where targets.id = t.id
      returning targets.id, old.last_attempt_json as before
    )
    select
      (select json_agg(json_build_array(id, before)) from updated where ${readPrevious})
        as previous,
      (select json_agg(json_build_array(c.env, c.channel, c.report_seq - n.n + 1))
        from c join n on n.env = c.env and n.channel = c.channel) as firsts`.execute(db);
  const row = result.rows[0];
  const previous = new Map<string, TargetAttempt | null>();
  for (const [id, before] of row?.previous ?? []) {
    previous.set(id, before === null ? null : (JSON.parse(before) as TargetAttempt));
  }
  const firstSeqs = new Map<string, number>();
  for (const [env, channel, first] of row?.firsts ?? []) {
    firstSeqs.set(`${env}\n${channel}`, Number(first));
  }
  return { previous, firstSeqs };
}
