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
 * - The same rows as one report at a time; nothing here commits (the caller's transaction does).
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

export async function writeReportBatch(
  db: Kysely<Database>,
  reports: readonly StoredReport[],
  options: {
    previous: boolean;
    lastAttempts: (ids: readonly string[]) => Promise<Map<string, TargetAttempt | null>>;
  },
): Promise<Map<string, TargetAttempt | null>> {
  const latest = new Map<string, { activePack: string | null; at: string; attempt?: string }>();
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
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  // Each channel's numbers are taken with its counter row locked until commit.
  const counts = new Map<string, { env: string; channel: string; n: number }>();
  for (const row of rows) {
    const key = `${row.env}\n${row.channel}`;
    const entry = counts.get(key) ?? { env: row.env, channel: row.channel, n: 0 };
    entry.n += 1;
    counts.set(key, entry);
  }
  const only = counts.size === 1 ? [...counts.values()][0] : undefined;
  if (postgres && only !== undefined && rows.length <= INSERT_CHUNK_ROWS) {
    // The usual batch (one channel): the bump and the insert in one statement, one round
    // trip; the counter row is locked by the bump until commit as below.
    await insertNumbered(db, only.env, only.channel, rows);
  } else {
    const next = new Map<string, number>();
    for (const key of [...counts.keys()].sort()) {
      const entry = counts.get(key);
      if (entry === undefined) continue;
      const last = await bumpCounter(db, entry.env, entry.channel, 'reports', entry.n);
      next.set(key, last - entry.n + 1);
    }
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
  }
  // One statement per chunk for the targets' last reports (a CTE both dialects read), in id
  // order so that two writers lock target rows in the same order. PostgreSQL returns each
  // target's attempt before the update (`old`: the statement's snapshot); SQLite cannot
  // return a joined table's columns, and reads them first (in process, no round trip).
  const previous = new Map<string, TargetAttempt | null>();
  const updates = [...latest].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (options.previous && !postgres) {
    for (const [id, attempt] of await options.lastAttempts(updates.map(([id]) => id))) {
      previous.set(id, attempt);
    }
  }
  for (let start = 0; start < updates.length; start += UPDATE_CHUNK_ROWS) {
    const values = updates
      .slice(start, start + UPDATE_CHUNK_ROWS)
      .map(
        ([id, update]) =>
          sql`(${id}, ${update.activePack}, ${update.at}, ${update.attempt ?? null})`,
      );
    const update = sql`with v (id, active_pack, at, attempt) as (values ${sql.join(values)})
          update targets set active_pack = v.active_pack, last_report_at = v.at,
            last_attempt_json = coalesce(v.attempt, targets.last_attempt_json)`;
    if (options.previous && postgres) {
      const { rows } = await sql<{ id: string; before: string | null }>`${update}
            from v join targets as old on old.id = v.id where targets.id = v.id
            returning targets.id, old.last_attempt_json as before`.execute(db);
      for (const row of rows) {
        previous.set(
          row.id,
          row.before === null ? null : (JSON.parse(row.before) as TargetAttempt),
        );
      }
    } else {
      await sql`${update} from v where targets.id = v.id`.execute(db);
    }
  }
  return previous;
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
 * PostgreSQL: bumps the channel's report counter by the number of rows and inserts the rows
 * numbered after its previous value, in their order, in one statement (a data-modifying CTE).
 */
async function insertNumbered(
  db: Kysely<Database>,
  env: string,
  channel: string,
  rows: readonly Insertable<TargetReportsTable>[],
): Promise<void> {
  const n = rows.length;
  const values = rows.map(
    (row, i) =>
      sql`(${row.id}, ${row.target_id}, ${row.at}, ${row.active_pack}, ${row.last_attempt_json}, ${row.health_json}, ${i + 1})`,
  );
  await sql`with c as (
      insert into channel_counters (env, channel, report_seq) values (${env}, ${channel}, ${n})
      on conflict (env, channel) do update set report_seq = channel_counters.report_seq + ${n}
      returning report_seq
    )
    insert into target_reports
      (id, target_id, env, channel, at, active_pack, last_attempt_json, health_json, seq)
    select v.id, v.target_id, ${env}, ${channel}, v.at, v.active_pack, v.last_attempt_json,
      v.health_json, c.report_seq - ${n}::bigint + v.ord::bigint
    from (values ${sql.join(values)})
      as v (id, target_id, at, active_pack, last_attempt_json, health_json, ord), c`.execute(db);
}
