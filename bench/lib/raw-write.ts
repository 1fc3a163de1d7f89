/**
 * The database-path baseline of the ingest bench: the rows a report batch writes (one
 * `target_reports` row per report and each target's last report), written straight through the
 * driver Lockgate uses (`node:sqlite` or `pg`), with no HTTP, no Kysely and no queue: one
 * transaction per batch holding one multi-row INSERT and one UPDATE … FROM (VALUES …), batches
 * one after another on one connection (as Lockgate's single writer). SQLite runs with Lockgate's
 * pragmas (WAL, synchronous = FULL), so each commit waits for its fsync as Lockgate's do.
 */
import { randomUUID } from 'node:crypto';
import { DatabaseSync } from 'node:sqlite';
import { configureSqlite } from '../../packages/server/src/db/sqlite-dialect.ts';

export interface RawWriteOptions {
  /** the server's SQLite file, or a postgres:// URL */
  database: { sqlitePath: string } | { postgresUrl: string };
  /** rows per transaction */
  batch: number;
  seconds: number;
  /** existing target ids, used in turn */
  targetIds: readonly string[];
  env: string;
  /** a channel of its own, so the server's controller does not read these rows */
  channel: string;
  activePack: string;
  health: string;
}

export interface RawWriteResult {
  rows: number;
  perSecond: number;
  /** CPU seconds of this process (the client side) per row */
  cpuPerRow: number;
}

type RowValue = string | number | null;

export async function rawWrite(options: RawWriteOptions): Promise<RawWriteResult> {
  const { batch } = options;
  let n = 0;
  const nextBatch = (): { reports: RowValue[]; targets: RowValue[] } => {
    const reports: RowValue[] = [];
    const latest = new Map<string, string>();
    const at = new Date().toISOString();
    for (let i = 0; i < batch; i++, n++) {
      const target = options.targetIds[n % options.targetIds.length] ?? 'none';
      reports.push(randomUUID(), target, options.env, options.channel, at);
      reports.push(options.activePack, null, options.health, n + 1);
      latest.set(target, at);
    }
    const targets: RowValue[] = [];
    for (const [id, time] of latest) targets.push(id, options.activePack, time);
    return { reports, targets };
  };
  const placeholders = (rows: number, columns: number, dollar: boolean): string => {
    let k = 0;
    const row = (): string =>
      `(${Array.from({ length: columns }, () => (dollar ? `$${++k}` : '?')).join(', ')})`;
    return Array.from({ length: rows }, row).join(', ');
  };
  const insertSql = (dollar: boolean): string =>
    'insert into target_reports (id, target_id, env, channel, at, active_pack, ' +
    `last_attempt_json, health_json, seq) values ${placeholders(batch, 9, dollar)}`;
  const updateSql = (rows: number, dollar: boolean): string =>
    `with v (id, active_pack, at) as (values ${placeholders(rows, 3, dollar)}) ` +
    'update targets set active_pack = v.active_pack, last_report_at = v.at ' +
    'from v where targets.id = v.id';

  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  let rows = 0;
  if ('sqlitePath' in options.database) {
    const db = new DatabaseSync(options.database.sqlitePath);
    try {
      configureSqlite(db);
      const insert = db.prepare(insertSql(false));
      const updates = new Map<number, ReturnType<DatabaseSync['prepare']>>();
      while (performance.now() < deadline) {
        const { reports, targets } = nextBatch();
        const size = targets.length / 3;
        let update = updates.get(size);
        if (update === undefined) {
          update = db.prepare(updateSql(size, false));
          updates.set(size, update);
        }
        db.exec('begin immediate');
        insert.run(...reports);
        update.run(...targets);
        db.exec('commit');
        rows += batch;
      }
    } finally {
      db.close();
    }
  } else {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: options.database.postgresUrl });
    await client.connect();
    try {
      const insert = insertSql(true);
      while (performance.now() < deadline) {
        const { reports, targets } = nextBatch();
        await client.query('begin');
        await client.query(insert, reports);
        await client.query(updateSql(targets.length / 3, true), targets);
        await client.query('commit');
        rows += batch;
      }
    } finally {
      await client.end();
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    rows,
    perSecond: rows / seconds,
    cpuPerRow: (cpu.user + cpu.system) / 1e6 / Math.max(1, rows),
  };
}
