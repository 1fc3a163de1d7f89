import type { Labels, TargetAttempt, TargetHealth, TargetReport } from '@lockgate/core';
import { sql } from 'kysely';
import type { Insertable, Kysely, Selectable } from 'kysely';
import { FAILED_ATTEMPT_LIKE } from '../../db/migrations/0014-failed-attempts-index.ts';
import type { Database, TargetReportsTable, TargetsTable } from '../../db/schema.ts';
import { readOne } from '../../db/statement-parts.ts';
import type { ReadPart } from '../../db/statement-parts.ts';
import { bumpCounter, readLastAttempts, writeReportBatch } from './report-batch-write.ts';
import type { WrittenBatch } from './report-batch-write.ts';
import type { ReportBatchWriter } from './report-writer.ts';

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
  /** The stored targets among `ids`, by id (unknown ids are absent). */
  findMany(ids: readonly string[]): Promise<Map<string, StoredTarget>>;
  /** By id. */
  list(query: TargetListQuery): Promise<StoredTarget[]>;
  /** Every target of a channel, id and labels only, by id. */
  listRefs(env: string, channel: string): Promise<{ id: string; labels: Labels }[]>;
  /** Inserts the target, or updates where it is and its labels; true when inserted. */
  upsert(target: StoredTarget): Promise<boolean>;
  /**
   * `upsert` of many targets in one go (a group of registrations): each channel a target leaves
   * or enters has its targets generation bumped once, new rows go in multi-row inserts, and the
   * others are updated. Returns the ids inserted. An id given twice is written as given last.
   */
  upsertMany(targets: readonly StoredTarget[]): Promise<Set<string>>;
  /** Appends a report and updates the target's active pack, last attempt and last report time. */
  recordReport(report: StoredReport): Promise<void>;
  /**
   * Appends reports (a group commit's batch, in the order given) and updates each target once,
   * to what its reports leave it at: the active pack and time of its last report, the last
   * attempt of its last report that carries one. The same rows as one `recordReport` per report.
   * Atomic on its own (one statement on PostgreSQL, a transaction of its own on SQLite unless
   * called in one): every row is written or none.
   * With `previous`, returns the last attempt each known target had before the batch (on
   * PostgreSQL read by the update itself, no round trip more); else an empty map. Returns the
   * number each channel's first report of the batch was given too.
   */
  recordReports(
    reports: readonly StoredReport[],
    options?: { previous?: boolean },
  ): Promise<WrittenBatch>;
  /** The stored last attempt of each of these targets; an unknown id is absent. */
  lastAttempts(ids: readonly string[]): Promise<Map<string, TargetAttempt | null>>;
  /** Reports of a channel with from ≤ at ≤ to, oldest first. */
  listReports(env: string, channel: string, from: string, to: string): Promise<TargetReport[]>;
  /**
   * The channel's counters (migration 0009): its targets' generation (bumped by every upsert of
   * one of its targets, in that transaction) and the last report number given out.
   */
  channelCounters(env: string, channel: string): Promise<ChannelCounters>;
  /** `channelCounters` as a part of a read (`Statements.read`). */
  channelCountersPart(env: string, channel: string): ReadPart<ChannelCounters>;
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
  /** `reportsAfter` as a part of a read (`Statements.read`). */
  reportsAfterPart(
    env: string,
    channel: string,
    afterSeq: number,
    limit: number,
  ): ReadPart<NumberedReport[]>;
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
  /**
   * One channel's targets as a release's status counts them, without reading every row: how
   * many, how many run `pack`, and the targets whose last attempt was a failure with `pack`
   * (ordered by id).
   */
  packSummary(env: string, channel: string, pack: string): Promise<ChannelPackSummary>;
}

export interface ChannelPackSummary {
  targets: number;
  onPack: number;
  failedAttempts: { id: string; lastAttempt: TargetAttempt }[];
}

/**
 * Attempts are stored as `JSON.stringify` writes them (no spaces), so a failed one always holds
 * this text; rows without it cannot hold a failure and are not read. Written into the query as a
 * literal, the term of the partial index that holds those rows (migration 0014).
 */
const FAILED_ATTEMPT_TEXT = sql.lit(FAILED_ATTEMPT_LIKE);

/** Targets per multi-row insert or `in` list (10 bound values each for an insert). */
const UPSERT_CHUNK_ROWS = 500;

/**
 * With `reportWriter`, batches of reports written outside a transaction go to it (SQLite: its own
 * thread and connection); in a transaction they are written by `db`.
 */
export function createTargetStore(
  db: Kysely<Database>,
  reportWriter?: ReportBatchWriter,
): TargetStore {
  const channelCountersPart = (env: string, channel: string): ReadPart<ChannelCounters> => ({
    query: db
      .selectFrom('channel_counters')
      .select(['targets_generation', 'report_seq'])
      .where('env', '=', env)
      .where('channel', '=', channel),
    decode: (rows) => ({
      targetsGeneration: Number(rows[0]?.['targets_generation'] ?? 0),
      reportSeq: Number(rows[0]?.['report_seq'] ?? 0),
    }),
  });

  const reportsAfterPart = (
    env: string,
    channel: string,
    afterSeq: number,
    limit: number,
  ): ReadPart<NumberedReport[]> => ({
    query: db
      .selectFrom('target_reports')
      .selectAll()
      .where('env', '=', env)
      .where('channel', '=', channel)
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(limit),
    decode: (rows) => rows.map((row) => numberedFromRow(row as Selectable<TargetReportsTable>)),
  });

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

    async findMany(ids) {
      const found = new Map<string, StoredTarget>();
      const unique = [...new Set(ids)];
      for (let start = 0; start < unique.length; start += UPSERT_CHUNK_ROWS) {
        const rows = await db
          .selectFrom('targets')
          .selectAll()
          .where('id', 'in', unique.slice(start, start + UPSERT_CHUNK_ROWS))
          .execute();
        for (const row of rows) found.set(row.id, fromRow(row));
      }
      return found;
    },

    async upsert(target) {
      return (await store.upsertMany([target])).has(target.id);
    },

    async upsertMany(targets) {
      const last = [...new Map(targets.map((target) => [target.id, target])).values()];
      const ids = last.map((target) => target.id);
      // Counters first, in a fixed order, then the rows: the order report batches lock them in.
      const touched = new Map<string, { env: string; channel: string }>();
      for (const where of [...(await store.findMany(ids)).values(), ...last]) {
        touched.set(`${where.env}\n${where.channel}`, where);
      }
      for (const key of [...touched.keys()].sort()) {
        const where = touched.get(key);
        if (where !== undefined) await bumpCounter(db, where.env, where.channel, 'targets', 1);
      }
      const inserted = new Set<string>();
      for (let start = 0; start < last.length; start += UPSERT_CHUNK_ROWS) {
        const rows = await db
          .insertInto('targets')
          .values(last.slice(start, start + UPSERT_CHUNK_ROWS).map(targetRow))
          .onConflict((conflict) => conflict.column('id').doNothing())
          .returning('id')
          .execute();
        for (const row of rows) inserted.add(row.id);
      }
      for (const target of last) {
        if (inserted.has(target.id)) continue;
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
      }
      return inserted;
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

    recordReports: (reports, options) => {
      const previous = options?.previous === true;
      return reportWriter === undefined || db.isTransaction
        ? writeReportBatch(db, reports, { previous })
        : reportWriter.write(reports, { previous });
    },

    lastAttempts: (ids) => readLastAttempts(db, ids),

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

    channelCounters(env, channel) {
      return readOne(db, channelCountersPart(env, channel));
    },

    channelCountersPart,

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

    reportsAfter(env, channel, afterSeq, limit) {
      return readOne(db, reportsAfterPart(env, channel, afterSeq, limit));
    },

    reportsAfterPart,

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

    async packSummary(env, channel, pack) {
      const counts = await db
        .selectFrom('targets')
        .select((eb) => [
          eb.fn.countAll<number | string>().as('targets'),
          eb.fn
            .sum<number | string | null>(
              eb.case().when('active_pack', '=', pack).then(1).else(0).end(),
            )
            .as('on_pack'),
        ])
        .where('env', '=', env)
        .where('channel', '=', channel)
        .executeTakeFirstOrThrow();
      const rows = await db
        .selectFrom('targets')
        .select(['id', 'last_attempt_json'])
        .where('env', '=', env)
        .where('channel', '=', channel)
        .where('last_attempt_json', 'like', FAILED_ATTEMPT_TEXT)
        .orderBy('id')
        .execute();
      const failedAttempts: ChannelPackSummary['failedAttempts'] = [];
      for (const row of rows) {
        if (row.last_attempt_json === null) continue;
        const lastAttempt = JSON.parse(row.last_attempt_json) as TargetAttempt;
        if (lastAttempt.pack === pack && lastAttempt.result === 'failed') {
          failedAttempts.push({ id: row.id, lastAttempt });
        }
      }
      return {
        targets: Number(counts.targets),
        onPack: Number(counts.on_pack ?? 0),
        failedAttempts,
      };
    },
  };
  return store;
}

function targetRow(target: StoredTarget): Insertable<TargetsTable> {
  return {
    id: target.id,
    env: target.env,
    channel: target.channel,
    labels_json: JSON.stringify(target.labels),
    capabilities_json: JSON.stringify(target.capabilities),
    active_pack: target.activePack,
    last_attempt_json: target.lastAttempt === null ? null : JSON.stringify(target.lastAttempt),
    last_report_at: target.lastReportAt,
    registered_at: target.registeredAt,
    updated_at: target.updatedAt,
  };
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
