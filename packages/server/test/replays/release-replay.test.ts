import { brotliCompressSync, brotliDecompressSync } from 'node:zlib';
import type { ReplayView } from '@lockgate/api';
import { CORE_VERSION } from '@lockgate/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../src/features/decisions/decision-store.ts';
import {
  createFleetWorld,
  createRelease,
  getRelease,
  timelineOf,
} from '../helpers/release-world.ts';
import type { World, Fleet } from '../helpers/release-world.ts';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';

const gate = {
  metric: 'error_rate',
  op: '<=',
  threshold: 0.05,
  windowSeconds: 300,
  minTargets: 1,
  minSamples: 50,
};

/** 25% for 10 minutes, then everyone for 10 minutes; one error-rate gate each. */
const TWO_STAGES = [
  { name: 'canary', percent: 25, soakSeconds: 600, gates: [gate] },
  { name: 'all', percent: 100, soakSeconds: 600, gates: [gate] },
];

/** Ticks the controller, lets the fleet act and report, and moves the clock, `n` times. */
async function run(
  w: World,
  fleet: Fleet,
  n: number,
  errorRate?: (id: string, pack: string | null) => number,
): Promise<void> {
  for (let i = 0; i < n; i += 1) {
    await w.t.services.controller.tick();
    await fleet.step(errorRate);
    w.clock.advance(60);
  }
}

async function replay(w: World, id: string, reason = 'audit'): Promise<ReplayView> {
  const made = await w.call<{ replay: ReplayView }>('POST', `/releases/${id}/replays`, { reason });
  expect(made.status).toBe(201);
  return made.body.replay;
}

/** Edits the stored context of a record in the database: decompress, change, compress back. */
async function editStoredContext(
  w: World,
  record: DecisionRecord,
  edit: (context: Record<string, unknown>) => void,
): Promise<void> {
  const { db } = w.t.testDatabase.database;
  const digest = record.inputs['context'] as string;
  const row = await db
    .selectFrom('decision_contexts')
    .selectAll()
    .where('digest', '=', digest)
    .executeTakeFirstOrThrow();
  const context = JSON.parse(
    brotliDecompressSync(Buffer.from(row.body, 'base64')).toString('utf8'),
  ) as Record<string, unknown>;
  edit(context);
  const body = brotliCompressSync(Buffer.from(JSON.stringify(context))).toString('base64');
  await db.updateTable('decision_contexts').set({ body }).where('digest', '=', digest).execute();
}

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'replay of the decisions of a release', () => {
    let w: World;
    let fleet: Fleet;

    beforeEach(async () => {
      ({ w, fleet } = await createFleetWorld(dialect, { name: 'two', stages: TWO_STAGES }, 40));
    });

    afterEach(async () => {
      await w.close();
    });

    /** Replays the release and expects every decision it recorded to match. */
    async function expectFullMatch(id: string): Promise<DecisionRecord[]> {
      const timeline = await timelineOf(w, id);
      expect(timeline.every((r) => r.coreVersion === CORE_VERSION)).toBe(true);
      const decided = timeline.filter((r) => typeof r.inputs['context'] === 'string');
      const result = await replay(w, id);
      expect(result).toMatchObject({
        release: id,
        requester: 'admin',
        reason: 'audit',
        status: 'completed',
        coreVersion: CORE_VERSION,
        total: decided.length,
        matching: decided.length,
        mismatches: 0,
        matchRate: 1,
        mismatched: [],
        error: null,
      });
      // Skipped: the creation, and the evidence records (stage attestations, the seal), which
      // state what was recorded rather than decide anything.
      const skipped = (result as { skipped: { seq: number; rule: string }[] }).skipped;
      expect(skipped.filter((s) => !s.rule.startsWith('evidence.'))).toMatchObject([
        { seq: timeline[0]?.seq, rule: 'release.create' },
      ]);
      expect(skipped.filter((s) => s.rule.startsWith('evidence.')).length).toBeLessThanOrEqual(
        skipped.length - 1,
      );
      expect(decided.length).toBeGreaterThanOrEqual(4);
      return timeline;
    }

    it('replays every decision of a completed release, commands included, with 100 % matching', async () => {
      const good = await createRelease(w, { pack: w.packs.v2.digest, plan: 'two' });
      await run(w, fleet, 3);
      const paused = await w.call('POST', `/releases/${good.id}/pause`, { reason: 'look' });
      expect(paused.status).toBe(200);
      await run(w, fleet, 2);
      const resumed = await w.call('POST', `/releases/${good.id}/resume`, { reason: 'fine' });
      expect(resumed.status).toBe(200);
      await run(w, fleet, 25);
      expect((await getRelease(w, good.id)).state).toBe('completed');
      const rules = (await expectFullMatch(good.id)).map((r) => r.rule);
      expect(rules).toEqual(expect.arrayContaining(['command.pause', 'command.resume']));
    }, 120_000);

    it('replays every decision of a rolled-back release with 100 % matching', async () => {
      const bad = await createRelease(w, { pack: w.packs.v3.digest, plan: 'two' });
      await run(w, fleet, 4, (_id, pack) => (pack === w.packs.v3.digest ? 0.2 : 0));
      expect((await getRelease(w, bad.id)).state).toBe('rolled_back');
      expect((await expectFullMatch(bad.id)).map((r) => r.rule)).toContain('gate.failed');
    }, 120_000);

    it('keeps the reports a decision read in its context after the reports table lost them', async () => {
      const created = await createRelease(w, { pack: w.packs.v2.digest, plan: 'two' });
      await run(w, fleet, 25);
      const { db } = w.t.testDatabase.database;
      await db.deleteFrom('target_reports').execute();
      expect((await replay(w, created.id)).matchRate).toBe(1);
    }, 120_000);

    it('shows a changed gate threshold in a stored context as a mismatch naming the field', async () => {
      const created = await createRelease(w, { pack: w.packs.v2.digest, plan: 'two' });
      await run(w, fleet, 25);
      const timeline = await timelineOf(w, created.id);
      const soaked = timeline.find((r) => r.rule === 'stage.soak_complete');
      if (soaked === undefined) throw new Error('no stage.soak_complete record');
      await editStoredContext(w, soaked, (context) => {
        const release = context['release'] as {
          plan: { stages: { gates: { threshold: number }[] }[] };
        };
        const first = release.plan.stages[0]?.gates[0];
        if (first === undefined) throw new Error('no gate');
        first.threshold = 0.06;
      });

      const result = await replay(w, created.id, 'after the edit');
      expect(result.mismatches).toBe(1);
      expect(result.matching).toBe(result.total - 1);
      expect(result.matchRate).toBeCloseTo((result.total - 1) / result.total, 10);
      expect(result.mismatched).toEqual([
        {
          seq: soaked.seq,
          recordId: soaked.id,
          rule: 'stage.soak_complete',
          problem: 'field',
          field: 'inputs.gates[0].threshold',
          expected: 0.05,
          actual: 0.06,
          recordedBy: CORE_VERSION,
          contextIntact: false,
        },
      ]);

      const listed = await w.call<{ items: ReplayView[] }>(
        'GET',
        `/releases/${created.id}/replays`,
      );
      expect(listed.status).toBe(200);
      expect(listed.body.items.map((r) => r.reason)).toEqual(['after the edit']);
    }, 120_000);

    it('names a record whose context is gone', async () => {
      const created = await createRelease(w, { pack: w.packs.v2.digest, plan: 'two' });
      await run(w, fleet, 2);
      const [, start] = await timelineOf(w, created.id);
      if (start === undefined) throw new Error('no release.start record');
      const { db } = w.t.testDatabase.database;
      await db
        .deleteFrom('decision_contexts')
        .where('digest', '=', start.inputs['context'] as string)
        .execute();
      const result = await replay(w, created.id);
      expect(result.mismatched[0]).toMatchObject({
        seq: start.seq,
        problem: 'context_missing',
        field: null,
        expected: start.inputs['context'],
      });
    }, 60_000);

    describe('the routes', () => {
      it('answer RELEASE_NOT_FOUND for an unknown release and refuse a replay without a reason', async () => {
        const missing = await w.call('POST', '/releases/rel_nope/replays', { reason: 'x' });
        expect(missing.status).toBe(404);
        expect(missing.body).toMatchObject({ code: 'RELEASE_NOT_FOUND' });
        const listed = await w.call('GET', '/releases/rel_nope/replays');
        expect(listed.status).toBe(404);
        const created = await createRelease(w, { pack: w.packs.v2.digest, plan: 'two' });
        const bare = await w.call('POST', `/releases/${created.id}/replays`, {});
        expect(bare.status).toBe(400);
        expect(bare.body).toMatchObject({ code: 'VALIDATION_FAILED' });
      });

      it('let a viewer list replays but not create one', async () => {
        const created = await createRelease(w, { pack: w.packs.v2.digest, plan: 'two' });
        const viewer = await w.call<{ secret: string }>('POST', '/tokens', {
          name: 'auditor',
          role: 'viewer',
        });
        expect(viewer.status).toBe(201);
        const headers = { authorization: `Bearer ${viewer.body.secret}` };
        const made = await w.call(
          'POST',
          `/releases/${created.id}/replays`,
          { reason: 'x' },
          headers,
        );
        expect(made.status).toBe(403);
        const listed = await w.call('GET', `/releases/${created.id}/replays`, undefined, headers);
        expect(listed.status).toBe(200);
      });
    });
  });
}
