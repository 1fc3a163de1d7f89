import { afterEach, beforeEach, expect, it } from 'vitest';
import { createReportQueue } from '../src/features/targets/report-queue.ts';
import type { CommittedReport } from '../src/features/targets/report-queue.ts';
import type { StoredReport, StoredTarget } from '../src/features/targets/target-store.ts';
import { createStores } from '../src/stores.ts';
import type { Stores } from '../src/stores.ts';
import { DIALECTS, describeDialect } from './helpers/test-database.ts';
import type { TestDatabase } from './helpers/test-database.ts';

const ENV = 'prod-eu';
const AT = '2026-03-02T08:00:00.000Z';
const HOUR_AGO = '2026-03-02T07:00:00.000Z';
const IN_AN_HOUR = '2026-03-02T09:00:00.000Z';
const PACK = `sha256:${'a'.repeat(64)}`;

function target(id: string, channel: string): StoredTarget {
  return {
    id,
    env: ENV,
    channel,
    labels: {},
    capabilities: {},
    activePack: null,
    lastAttempt: null,
    lastReportAt: null,
    registeredAt: AT,
    updatedAt: AT,
  };
}

let reportNumber = 0;
function report(targetId: string, channel: string, requests: number, id?: string): StoredReport {
  reportNumber += 1;
  return {
    id: id ?? `report-${reportNumber}`,
    targetId,
    env: ENV,
    channel,
    at: AT,
    activePack: PACK,
    health: { requests, errors: 0 },
  };
}

/** Settles every promise and tells, in order, which were fulfilled. */
async function outcomes(promises: Promise<void>[]): Promise<('ok' | 'failed')[]> {
  const settled = await Promise.allSettled(promises);
  return settled.map((s) => (s.status === 'fulfilled' ? 'ok' : 'failed'));
}

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'report queue on the real stores', () => {
    let testDatabase: TestDatabase;
    let stores: Stores;

    beforeEach(async () => {
      testDatabase = await dialect.create();
      stores = createStores(testDatabase.database.db);
      await stores.environments.insert({
        name: ENV,
        description: '',
        createdAt: AT,
        createdBy: 'admin',
      });
      for (const name of ['stable', 'canary']) {
        await stores.channels.insert({
          env: ENV,
          name,
          plan: 'canary',
          floor: null,
          constraints: {},
          cohorts: [],
          indexTtlSeconds: 3600,
          base: null,
          lkg: null,
          rollout: null,
          activeRelease: null,
          indexVersion: 1,
          indexEnvelope: { payloadType: 'x', payload: '', signatures: [] },
          indexExpiresAt: IN_AN_HOUR,
          createdAt: AT,
          createdBy: 'admin',
          updatedAt: AT,
          updatedBy: 'admin',
        });
      }
      for (let n = 0; n < 6; n++) {
        await stores.targets.upsert(target(`t${n}`, n % 2 === 0 ? 'stable' : 'canary'));
      }
    });

    afterEach(async () => {
      await testDatabase.dispose();
    });

    it('fails every report of a batch whose transaction fails, acknowledges none of them and stores nothing of it', async () => {
      // One report of the batch repeats the id of a stored report, so the batch's insert fails.
      await stores.targets.recordReports([report('t0', 'stable', 1, 'taken')]);
      const before = await stores.targets.channelCounters(ENV, 'stable');
      const batches: CommittedReport[][] = [];
      const queue = createReportQueue({
        stores,
        maxBatch: 10,
        lingerMs: 50,
        onCommitted: (batch) => batches.push([...batch]),
      });

      const results = outcomes([
        queue.submit(report('t1', 'canary', 2)),
        queue.submit(report('t2', 'stable', 3)),
        queue.submit(report('t3', 'canary', 4, 'taken')),
        queue.submit(report('t4', 'stable', 5)),
      ]);
      expect(await results).toEqual(['failed', 'failed', 'failed', 'failed']);
      expect(batches).toEqual([]);

      const stored = [
        ...(await stores.targets.listReports(ENV, 'stable', HOUR_AGO, IN_AN_HOUR)),
        ...(await stores.targets.listReports(ENV, 'canary', HOUR_AGO, IN_AN_HOUR)),
      ];
      expect(stored.map((r) => r.health?.requests)).toEqual([1]);
      for (const id of ['t1', 't2', 't3', 't4']) {
        expect((await stores.targets.find(id))?.lastReportAt).toBeNull();
      }
      // No number was given out for them: the counters rolled back with the batch.
      expect(await stores.targets.channelCounters(ENV, 'stable')).toEqual(before);
      expect((await stores.targets.channelCounters(ENV, 'canary')).reportSeq).toBe(0);

      // The queue goes on: the next batch is written.
      expect(await outcomes([queue.submit(report('t1', 'canary', 6))])).toEqual(['ok']);
    });

    it('fails a one-channel batch whose transaction fails without taking a number', async () => {
      await stores.targets.recordReports([report('t0', 'stable', 1, 'taken-alone')]);
      const queue = createReportQueue({ stores, maxBatch: 10, lingerMs: 50 });
      const results = outcomes([
        queue.submit(report('t2', 'stable', 2)),
        queue.submit(report('t4', 'stable', 3, 'taken-alone')),
      ]);
      expect(await results).toEqual(['failed', 'failed']);
      expect((await stores.targets.channelCounters(ENV, 'stable')).reportSeq).toBe(1);
      const stored = await stores.targets.listReports(ENV, 'stable', HOUR_AGO, IN_AN_HOUR);
      expect(stored.map((r) => r.health?.requests)).toEqual([1]);
      expect(await outcomes([queue.submit(report('t2', 'stable', 4))])).toEqual(['ok']);
      const numbered = await stores.targets.reportsAfter(ENV, 'stable', 0, 10);
      expect(numbered.map((r) => [r.seq, r.report.health?.requests])).toEqual([
        [1, 1],
        [2, 4],
      ]);
    });

    it('numbers each channel’s reports 1, 2, 3… in the order they were submitted, across batches', async () => {
      // each committed report is told the number it was stored under
      const told = new Map<string, number>();
      const queue = createReportQueue({
        stores,
        maxBatch: 4,
        lingerMs: 0,
        onCommitted: (batch) => {
          for (const { report: committed, seq } of batch) told.set(committed.id, seq);
        },
      });
      // Batches of one channel first (on PostgreSQL, numbered by the insert itself), then
      // batches mixing both.
      const alone = Array.from({ length: 9 }, (_, n) => report(`t${(n % 3) * 2}`, 'stable', n));
      expect(await outcomes(alone.map((r) => queue.submit(r)))).toEqual(alone.map(() => 'ok'));
      const mixed = Array.from({ length: 23 }, (_, n) => {
        const id = `t${n % 6}`;
        return report(id, (n % 6) % 2 === 0 ? 'stable' : 'canary', n);
      });
      expect(await outcomes(mixed.map((r) => queue.submit(r)))).toEqual(mixed.map(() => 'ok'));
      const sent = [...alone, ...mixed];

      for (const channel of ['stable', 'canary']) {
        const numbered = await stores.targets.reportsAfter(ENV, channel, 0, 100);
        const expected = sent.filter((r) => r.channel === channel);
        expect(numbered.map((r) => r.seq)).toEqual(expected.map((_, i) => i + 1));
        expect(numbered.map((r) => r.id)).toEqual(expected.map((r) => r.id));
        expect(numbered.map((r) => told.get(r.id))).toEqual(numbered.map((r) => r.seq));
        expect((await stores.targets.channelCounters(ENV, channel)).reportSeq).toBe(
          expected.length,
        );
      }
    });

    it('tells each committed report the attempt its target had before it: stored, or from an earlier report of the batch', async () => {
      const first = { kind: 'activate' as const, pack: PACK, result: 'ok' as const, at: AT };
      const second = { ...first, kind: 'verify' as const, result: 'failed' as const };
      await stores.targets.recordReports([{ ...report('t0', 'stable', 1), lastAttempt: first }]);
      const batches: CommittedReport[][] = [];
      const queue = createReportQueue({
        stores,
        maxBatch: 10,
        lingerMs: 50,
        readPrevious: true,
        onCommitted: (batch) => batches.push([...batch]),
      });
      await Promise.all([
        queue.submit(report('t0', 'stable', 2)),
        queue.submit({ ...report('t0', 'stable', 3), lastAttempt: second }),
        queue.submit(report('t0', 'stable', 4)),
        queue.submit(report('t1', 'canary', 5)),
      ]);
      expect(batches).toHaveLength(1);
      expect(batches[0]?.map((c) => [c.report.targetId, c.previous?.kind ?? null])).toEqual([
        ['t0', 'activate'],
        ['t0', 'activate'],
        ['t0', 'verify'],
        ['t1', null],
      ]);
      expect((await stores.targets.find('t0'))?.lastAttempt).toEqual(second);
    });

    it('leaves each target at its last report of the batch, keeping the last attempt a later report did not carry', async () => {
      const attempt = {
        kind: 'activate' as const,
        pack: PACK,
        result: 'ok' as const,
        at: AT,
      };
      await stores.targets.recordReports([
        { ...report('t0', 'stable', 1), lastAttempt: attempt },
        { ...report('t0', 'stable', 2), activePack: null },
        { ...report('t1', 'canary', 3), at: '2026-03-02T08:00:05.000Z' },
      ]);
      const t0 = await stores.targets.find('t0');
      expect(t0?.activePack).toBeNull();
      expect(t0?.lastAttempt).toEqual(attempt);
      expect(t0?.lastReportAt).toBe(AT);
      const t1 = await stores.targets.find('t1');
      expect(t1?.activePack).toBe(PACK);
      expect(t1?.lastAttempt).toBeNull();
      expect(t1?.lastReportAt).toBe('2026-03-02T08:00:05.000Z');
      expect((await stores.targets.find('t2'))?.lastReportAt).toBeNull();
    });
  });
}
