import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { isLockgateError } from '@lockgate/core';
import type { TargetAttempt } from '@lockgate/core';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startReportBatchWriter } from '../src/features/targets/index.ts';
import type { ReportBatchWriter } from '../src/features/targets/index.ts';
import type { StoredReport } from '../src/features/targets/target-store.ts';
import { DIALECTS } from './helpers/test-database.ts';
import type { TestDatabase } from './helpers/test-database.ts';

const sqlite = DIALECTS.find((dialect) => dialect.name === 'sqlite');
const AT = '2026-03-02T08:00:00.000Z';
const FAILED: TargetAttempt = {
  kind: 'activate',
  pack: 'sha256:' + 'b'.repeat(64),
  result: 'failed',
  code: 'PACK_VERIFY_FAILED',
  at: AT,
};

function report(targetId: string, extra: Partial<StoredReport> = {}): StoredReport {
  return {
    id: randomUUID(),
    targetId,
    env: 'prod',
    channel: 'stable',
    at: AT,
    activePack: 'sha256:' + 'a'.repeat(64),
    ...extra,
  };
}

describe('the SQLite report writer (its own thread and connection)', () => {
  let database: TestDatabase;
  let writer: ReportBatchWriter;

  const count = async (): Promise<number> =>
    Number(
      (
        await sql<{ n: number }>`select count(*) as n from target_reports`.execute(
          database.database.db,
        )
      ).rows[0]?.n,
    );

  beforeEach(async () => {
    if (sqlite === undefined) throw new Error('no SQLite dialect');
    database = await sqlite.create();
    const { db } = database.database;
    // targets without their channel rows: only the reports' writes are under test
    await sql`pragma foreign_keys = off`.execute(db);
    await db
      .insertInto('targets')
      .values(
        ['t1', 't2', 't3'].map((id) => ({
          id,
          env: 'prod',
          channel: 'stable',
          labels_json: '{}',
          capabilities_json: '{}',
          active_pack: null,
          last_attempt_json: null,
          last_report_at: null,
          registered_at: AT,
          updated_at: AT,
        })),
      )
      .execute();
    const opened = database.database.sqlite;
    if (opened === undefined) throw new Error('a SQLite database has its file and turns');
    writer = await startReportBatchWriter(db, opened);
  });

  afterEach(async () => {
    await writer.close();
    await database.dispose();
  });

  it('writes a batch that the main connection reads at once, with each target’s attempt before it', async () => {
    const first = await writer.write(
      [report('t1'), report('t1', { lastAttempt: FAILED }), report('t2')],
      { previous: true },
    );
    expect(first.previous).toEqual(
      new Map([
        ['t1', null],
        ['t2', null],
      ]),
    );
    // the channel's reports are numbered from here in batch order (the report queue's seq)
    expect(first.firstSeqs).toEqual(new Map([['prod\nstable', 1]]));
    expect(await count()).toBe(3);
    const t1 = await database.database.db
      .selectFrom('targets')
      .select(['active_pack', 'last_attempt_json', 'last_report_at'])
      .where('id', '=', 't1')
      .executeTakeFirstOrThrow();
    expect(t1).toEqual({
      active_pack: 'sha256:' + 'a'.repeat(64),
      last_attempt_json: JSON.stringify(FAILED),
      last_report_at: AT,
    });
    const seqs = await database.database.db
      .selectFrom('target_reports')
      .select('seq')
      .orderBy('seq')
      .execute();
    expect(seqs.map((row) => Number(row.seq))).toEqual([1, 2, 3]);

    const second = await writer.write([report('t1')], { previous: true });
    expect(second.previous).toEqual(new Map([['t1', FAILED]]));
    expect(second.firstSeqs).toEqual(new Map([['prod\nstable', 4]]));
  });

  it('refuses a batch with its code and stores none of it', async () => {
    const refused = await writer
      .write([report('t1'), report('t2', { activePack: 'sha256:\u0000' })], { previous: false })
      .then(
        () => null,
        (error: unknown) => error,
      );
    expect(isLockgateError(refused) ? refused.code : refused).toBe('VALIDATION_FAILED');
    expect(await count()).toBe(0);
    // the writer goes on
    await writer.write([report('t3')], { previous: false });
    expect(await count()).toBe(1);
  });

  it('commits batches and the main connection’s transactions sent at once, none refused busy', async () => {
    const batches = Array.from({ length: 20 }, (_, i) =>
      writer.write(
        Array.from({ length: 50 }, () => report(['t1', 't2', 't3'][i % 3] ?? 't1')),
        { previous: i % 2 === 0 },
      ),
    );
    const { db } = database.database;
    const transactions = Array.from({ length: 20 }, (_, i) =>
      db.transaction().execute(async (trx) => {
        await trx
          .updateTable('targets')
          .set({ updated_at: `2026-03-02T08:00:${String(i).padStart(2, '0')}.000Z` })
          .where('id', '=', 't3')
          .execute();
        return trx.selectFrom('target_reports').select('id').limit(1).execute();
      }),
    );
    const settled = await Promise.allSettled([...batches, ...transactions]);
    expect(settled.filter((outcome) => outcome.status === 'rejected')).toEqual([]);
    expect(await count()).toBe(1000);
  });

  it('lets queries the main connection runs back to back go before the next batch', async () => {
    // as the report queue sends them: each batch as the one before it resolves
    const batches = (async () => {
      for (let i = 0; i < 5; i++) await writer.write([report('t1')], { previous: false });
    })();
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) seen.push(await count());
    await batches;
    expect(new Set(seen).size).toBe(1);
    expect(await count()).toBe(5);
  });

  it('fails a batch whose thread cannot write, and never leaves the file held', async () => {
    const opened = database.database.sqlite;
    if (opened === undefined) throw new Error('a SQLite database has its file and turns');
    // a thread that cannot open its file stops: each batch sent to it is refused, not lost
    const broken = await startReportBatchWriter(database.database.db, {
      path: join(database.dataDir, 'missing', 'lockgate.db'),
      turns: opened.turns,
    });
    try {
      await expect(broken.write([report('t1')], { previous: false })).rejects.toThrow();
      await expect(broken.write([report('t2')], { previous: false })).rejects.toThrow();
    } finally {
      await broken.close();
    }
    // the turns it took were given back: the main connection and the working writer go on
    expect(await count()).toBe(0);
    await writer.write([report('t3')], { previous: false });
    expect(await count()).toBe(1);
  });

  it('refuses writes once closed', async () => {
    await writer.close();
    await expect(writer.write([report('t1')], { previous: false })).rejects.toThrow(
      'the report writer is closed',
    );
    expect(await count()).toBe(0);
  });
});
