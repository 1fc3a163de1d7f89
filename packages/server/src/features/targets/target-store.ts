import type { Labels, TargetAttempt, TargetHealth, TargetReport } from '@lockgate/core';
import { PostgresAdapter, sql } from 'kysely';
import type { Insertable, Kysely, Selectable } from 'kysely';
import type { Database, TargetReportsTable, TargetsTable } from '../../db/schema.ts';

export interface StoredTarget {
  id: string;
  env: string;
  channel: string;
  labels: Record<string, string>;
  capabilities: Record<string, string>;
  activePack: string | null;
  lastAttempt: TargetAttempt | null;
  lastReportAt: string | null;
  registeredAt: string;
  updatedAt: string;
}

/** A stored report: the core TargetReport plus where the target was when it reported. */
export interface StoredReport extends TargetReport {
  id: string;
  env: string;
  channel: string;
}

export interface TargetListQuery {
  env?: string;
  channel?: string;
  /** ids after this one (paging: pass the last id of the previous page) */
  after?: string;
  limit: number;
}

/** The targets of one channel that run one pack (null: none), counted in one GROUP BY. */
export interface ActivePackCount {
  env: string;
  channel: string;
  activePack: string | null;
  targets: number;
  /** of them, the ones whose last report (or registration, before any) is before the cutoff */
  silent: number;
  /** the latest report among them; null when none reported */
  lastReportAt: string | null;
}

export interface ChannelCounters {
  targetsGeneration: number;
  reportSeq: number;
}

/** A report with its number in its channel (null: stored before reports were numbered). */
export interface NumberedReport {
  seq: number | null;
  id: string;
  report: TargetReport;
}

export interface TargetStore {
  find(id: string): Promise<StoredTarget | null>;
  /** By id. */
  list(query: TargetListQuery): Promise<StoredTarget[]>;
  /** Every target of a channel, id and labels only, by id. */
  listRefs(env: string, channel: string): Promise<{ id: string; labels: Labels }[]>;
  /** Inserts the target, or updates where it is and its labels; true when inserted. */
  upsert(target: StoredTarget): Promise<boolean>;
  /** Appends a report and updates the target's active pack, last attempt and last report time. */
  recordReport(report: StoredReport): Promise<void>;
  /**
   * Appends reports (a group commit's batch, in the order given) and updates each target once,
   * to what its reports leave it at: the active pack and time of its last report, the last
   * attempt of its last report that carries one. The same rows as one `recordReport` per report.
   * With `previous`, returns the last attempt each known target had before the batch (on
   * PostgreSQL read by the update itself, no round trip more); else an empty map.
   */
  recordReports(
    reports: readonly StoredReport[],
    options?: { previous?: boolean },
  ): Promise<Map<string, TargetAttempt | null>>;
  /** The stored last attempt of each of these targets; an unknown id is absent. */
  lastAttempts(ids: readonly string[]): Promise<Map<string, TargetAttempt | null>>;
  /** Reports of a channel with from ≤ at ≤ to, oldest first. */
  listReports(env: string, channel: string, from: string, to: string): Promise<TargetReport[]>;
  /**
   * The channel's counters (migration 0009): its targets' generation (bumped by every upsert of
   * one of its targets, in that transaction) and the last report number given out.
   */
  channelCounters(env: string, channel: string): Promise<ChannelCounters>;
  /**
   * Reports of a channel with `at >= from` and a number up to `maxSeq` (or none: stored before
   * numbers), oldest first by (at, id), each with its number.
   */
  reportsUpTo(
    env: string,
    channel: string,
    from: string,
    maxSeq: number,
  ): Promise<NumberedReport[]>;
  /** Reports of a channel numbered above `afterSeq`, by number (at most `limit`). */
  reportsAfter(
    env: string,
    channel: string,
    afterSeq: number,
    limit: number,
  ): Promise<NumberedReport[]>;
  /** Deletes reports older than `before`; returns how many. */
  pruneReports(before: string): Promise<number>;
  /**
   * Every target counted by channel and active pack, in one grouped query: what the fleet
   * gauges need without reading each target. `silentBefore` is an ISO 8601 time (times are
   * stored in the same UTC ISO form, so they compare as text).
   */
  activePackCounts(silentBefore: string): Promise<ActivePackCount[]>;
  /** The targets registered or updated at or after `since` (reports do not count). */
  updatedSince(since: string): Promise<{ id: string; updatedAt: string }[]>;
}

/**
 * Rows per multi-row insert (8 columns each): well under SQLite's limit of 32,766 bound
 * variables and PostgreSQL's 65,535.
 */
const INSERT_CHUNK_ROWS = 500;
/** Targets per `update … from (values …)` (4 bound values each). */
const UPDATE_CHUNK_ROWS = 1000;

export function createTargetStore(db: Kysely<Database>): TargetStore {
  const store: TargetStore = {
    async find(id) {
      const row = await db
        .selectFrom('targets')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      return row === undefined ? null : fromRow(row);
    },

    async list({ env, channel, after, limit }) {
      let query = db.selectFrom('targets').selectAll();
      if (after !== undefined) query = query.where('id', '>', after);
      if (env !== undefined) query = query.where('env', '=', env);
      if (channel !== undefined) query = query.where('channel', '=', channel);
      const rows = await query.orderBy('id').limit(limit).execute();
      return rows.map(fromRow);
    },

    async listRefs(env, channel) {
      const rows = await db
        .selectFrom('targets')
        .select(['id', 'labels_json'])
        .where('env', '=', env)
        .where('channel', '=', channel)
        .orderBy('id')
        .execute();
      return rows.map((row) => ({ id: row.id, labels: JSON.parse(row.labels_json) as Labels }));
    },

    async upsert(target) {
      // Counters first, in a fixed order, then the row: the order report batches lock them in.
      const before = await db
        .selectFrom('targets')
        .select(['env', 'channel'])
        .where('id', '=', target.id)
        .executeTakeFirst();
      const touched = new Map<string, { env: string; channel: string }>();
      for (const where of [before, target]) {
        if (where !== undefined) touched.set(`${where.env}\n${where.channel}`, where);
      }
      for (const key of [...touched.keys()].sort()) {
        const where = touched.get(key);
        if (where !== undefined) await bumpCounter(db, where.env, where.channel, 'targets', 1);
      }
      const inserted = await db
        .insertInto('targets')
        .values({
          id: target.id,
          env: target.env,
          channel: target.channel,
          labels_json: JSON.stringify(target.labels),
          capabilities_json: JSON.stringify(target.capabilities),
          active_pack: target.activePack,
          last_attempt_json:
            target.lastAttempt === null ? null : JSON.stringify(target.lastAttempt),
          last_report_at: target.lastReportAt,
          registered_at: target.registeredAt,
          updated_at: target.updatedAt,
        })
        .onConflict((conflict) => conflict.column('id').doNothing())
        .executeTakeFirst();
      if ((inserted.numInsertedOrUpdatedRows ?? 0n) > 0n) return true;
      await db
        .updateTable('targets')
        .set({
          env: target.env,
          channel: target.channel,
          labels_json: JSON.stringify(target.labels),
          capabilities_json: JSON.stringify(target.capabilities),
          updated_at: target.updatedAt,
        })
        .where('id', '=', target.id)
        .execute();
      return false;
    },

    async updatedSince(since) {
      const rows = await db
        .selectFrom('targets')
        .select(['id', 'updated_at'])
        .where('updated_at', '>=', since)
        .execute();
      return rows.map((row) => ({ id: row.id, updatedAt: row.updated_at }));
    },

    async recordReport(report) {
      await store.recordReports([report]);
    },

    async recordReports(reports, options) {
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
      if (options?.previous === true && !postgres) {
        for (const [id, attempt] of await store.lastAttempts(updates.map(([id]) => id))) {
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
        if (options?.previous === true && postgres) {
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
    },

    async lastAttempts(ids) {
      const found = new Map<string, TargetAttempt | null>();
      const unique = [...new Set(ids)];
      for (let start = 0; start < unique.length; start += INSERT_CHUNK_ROWS) {
        const rows = await db
          .selectFrom('targets')
          .select(['id', 'last_attempt_json'])
          .where('id', 'in', unique.slice(start, start + INSERT_CHUNK_ROWS))
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
    },

    async listReports(env, channel, from, to) {
      const rows = await db
        .selectFrom('target_reports')
        .selectAll()
        .where('env', '=', env)
        .where('channel', '=', channel)
        .where('at', '>=', from)
        .where('at', '<=', to)
        .orderBy('at')
        .orderBy('id')
        .execute();
      return rows.map(reportFromRow);
    },

    async channelCounters(env, channel) {
      const row = await db
        .selectFrom('channel_counters')
        .select(['targets_generation', 'report_seq'])
        .where('env', '=', env)
        .where('channel', '=', channel)
        .executeTakeFirst();
      return {
        targetsGeneration: Number(row?.targets_generation ?? 0),
        reportSeq: Number(row?.report_seq ?? 0),
      };
    },

    async reportsUpTo(env, channel, from, maxSeq) {
      const rows = await db
        .selectFrom('target_reports')
        .selectAll()
        .where('env', '=', env)
        .where('channel', '=', channel)
        .where('at', '>=', from)
        .where((eb) => eb.or([eb('seq', 'is', null), eb('seq', '<=', maxSeq)]))
        .orderBy('at')
        .orderBy('id')
        .execute();
      return rows.map(numberedFromRow);
    },

    async reportsAfter(env, channel, afterSeq, limit) {
      const rows = await db
        .selectFrom('target_reports')
        .selectAll()
        .where('env', '=', env)
        .where('channel', '=', channel)
        .where('seq', '>', afterSeq)
        .orderBy('seq')
        .limit(limit)
        .execute();
      return rows.map(numberedFromRow);
    },

    async pruneReports(before) {
      const result = await db
        .deleteFrom('target_reports')
        .where('at', '<', before)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    async activePackCounts(silentBefore) {
      const rows = await db
        .selectFrom('targets')
        .select((eb) => [
          'env',
          'channel',
          'active_pack',
          eb.fn.countAll<number | string>().as('targets'),
          eb.fn
            .sum<number | string | null>(
              eb
                .case()
                .when(eb.fn.coalesce('last_report_at', 'registered_at'), '<', silentBefore)
                .then(1)
                .else(0)
                .end(),
            )
            .as('silent'),
          eb.fn.max('last_report_at').as('last_report_at'),
        ])
        .groupBy(['env', 'channel', 'active_pack'])
        .execute();
      return rows.map((row) => ({
        env: row.env,
        channel: row.channel,
        activePack: row.active_pack,
        targets: Number(row.targets),
        silent: Number(row.silent ?? 0),
        lastReportAt: row.last_report_at,
      }));
    },
  };
  return store;
}

function fromRow(row: Selectable<TargetsTable>): StoredTarget {
  return {
    id: row.id,
    env: row.env,
    channel: row.channel,
    labels: JSON.parse(row.labels_json) as Record<string, string>,
    capabilities: JSON.parse(row.capabilities_json) as Record<string, string>,
    activePack: row.active_pack,
    lastAttempt:
      row.last_attempt_json === null ? null : (JSON.parse(row.last_attempt_json) as TargetAttempt),
    lastReportAt: row.last_report_at,
    registeredAt: row.registered_at,
    updatedAt: row.updated_at,
  };
}

/**
 * Adds `by` to one of the channel's counters (creating its row) and returns the new value; in
 * PostgreSQL the row stays locked until the transaction ends.
 */
async function bumpCounter(
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

function numberedFromRow(row: Selectable<TargetReportsTable>): NumberedReport {
  return {
    seq: row.seq === null ? null : Number(row.seq),
    id: row.id,
    report: reportFromRow(row),
  };
}

function reportFromRow(row: Selectable<TargetReportsTable>): TargetReport {
  const report: TargetReport = { targetId: row.target_id, at: row.at, activePack: row.active_pack };
  if (row.last_attempt_json !== null) {
    report.lastAttempt = JSON.parse(row.last_attempt_json) as TargetAttempt;
  }
  if (row.health_json !== null) report.health = JSON.parse(row.health_json) as TargetHealth;
  return report;
}
