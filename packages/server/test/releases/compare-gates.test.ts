import type { HealthGateResult } from '@lockgate/core';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { GateReport } from '../../src/features/decisions/gate-report.ts';
import type { ReleaseWhy } from '../../src/features/releases/release-why.ts';
import type { ReleaseView } from '../../src/features/releases/release-service.ts';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';
import {
  baseline,
  CHANNEL,
  createChannel,
  createRelease,
  createWorld,
  ENV,
  Fleet,
  getRelease,
  putPlan,
  simulatedTargets,
  timelineOf,
} from '../helpers/release-world.ts';
import type { World } from '../helpers/release-world.ts';

const compare = {
  kind: 'compare',
  metric: 'error_rate',
  alpha: 0.01,
  margin: { relative: 0.2 },
  minSamples: 500,
  windowSeconds: 60,
};

/** A threshold gate tighter than either pack's error rate: it fails on every release. */
const strictShadow = {
  metric: 'error_rate',
  op: '<=',
  threshold: 0.01,
  windowSeconds: 300,
  minTargets: 1,
  minSamples: 50,
  mode: 'shadow',
};

/** The latency test: the shares of requests slower than 100 ms and than 250 ms. */
const latencyCompare = {
  kind: 'compare',
  metric: 'latency',
  alpha: 0.01,
  margin: { relative: 0.2 },
  minSamples: 500,
  windowSeconds: 60,
  latencyBoundsMs: [100, 250],
};

/** Shares of requests slower than 100 ms and 250 ms per pack: v2 is the slow one. */
const SLOW_SHARES: Record<string, [number, number]> = {};

/** What an agent reads from its runtime's histogram: requests slower than each bucket bound. */
function slowerSignals(
  _targetId: string,
  pack: string | null,
  requests: number,
): Record<string, number> {
  const [over100, over250] = SLOW_SHARES[pack ?? ''] ?? [0, 0];
  return {
    'slower_than_ms:100': Math.round(requests * over100),
    'slower_than_ms:250': Math.round(requests * over250),
    health_check: 1,
  };
}

function judgedPlan(endSoakOnPass: boolean): unknown[] {
  return [
    {
      name: 'canary',
      percent: 20,
      soakSeconds: 1800,
      baseline: {},
      endSoakOnPass,
      gates: [compare, strictShadow],
    },
    { name: 'all', percent: 100, soakSeconds: 0, gates: [] },
  ];
}

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'compare gates against a stage baseline', () => {
    let w: World;
    let fleet: Fleet;

    /** Ticks, lets every target act and report 2000 requests at the pack's error rate. */
    async function run(n: number, rates: Map<string | null, number>): Promise<void> {
      for (let i = 0; i < n; i += 1) {
        await w.t.services.controller.tick();
        await fleet.step((_id, pack) => rates.get(pack) ?? 0, 2000);
        w.clock.advance(60);
      }
    }

    async function status(id: string): Promise<{ release: ReleaseView; why: ReleaseWhy | null }> {
      const got = await w.call<{ release: ReleaseView; why: ReleaseWhy | null }>(
        'GET',
        `/releases/${id}`,
      );
      expect(got.status).toBe(200);
      return got.body;
    }

    beforeEach(async () => {
      w = await createWorld(dialect);
      await createChannel(w);
      await baseline(w, w.packs.v1);
      await putPlan(w, 'judged', judgedPlan(false));
      await putPlan(w, 'judged-early', judgedPlan(true));
      await putPlan(w, 'judged-latency', [
        { name: 'canary', percent: 20, soakSeconds: 1800, baseline: {}, gates: [latencyCompare] },
        { name: 'all', percent: 100, soakSeconds: 0, gates: [] },
      ]);
      SLOW_SHARES[w.packs.v1.digest] = [0.1, 0.02];
      SLOW_SHARES[w.packs.v2.digest] = [0.3, 0.08];
      fleet = new Fleet(w, simulatedTargets(20));
      await fleet.register();
      await fleet.step();
    });

    afterEach(async () => {
      await w.close();
    });

    it('refuses a compare gate on a stage without a baseline, naming the problem', async () => {
      const put = await w.call('PUT', '/plans/unjudged', {
        stages: [
          { name: 'canary', percent: 20, soakSeconds: 60, gates: [compare] },
          { name: 'all', percent: 100, soakSeconds: 0, gates: [] },
        ],
      });
      expect(put.status).toBe(400);
      expect(put.body).toMatchObject({
        code: 'PLAN_INVALID',
        details: {
          problems: ['plan.stages[0] has a compare gate and no baseline to compare with'],
        },
      });
    }, 120_000);

    it('rolls back a canary whose error rate doubles the baseline, and says so in words', async () => {
      const created = await createRelease(w, { pack: w.packs.v2.digest, plan: 'judged' });
      const rates = new Map([
        [w.packs.v1.digest, 0.05],
        [w.packs.v2.digest, 0.1],
      ]);
      await run(1, rates);
      const during = await status(created.id);
      const shown = during.why?.gates ?? [];
      expect(shown.map((g) => [g.gate, g.mode])).toEqual([
        ['canary#0', 'enforce'],
        ['canary#1', 'shadow'],
      ]);
      expect(shown[1]?.verdict).toBe('fail');
      expect(during.why?.blockers.some((b) => b.message.includes('error_rate fail'))).toBe(false);
      await run(6, rates);
      const release = await getRelease(w, created.id);
      expect(release.state).toBe('rolled_back');
      const timeline = await timelineOf(w, created.id);
      const failed = timeline.find((r) => r.rule === 'gate.failed');
      const judged = (failed?.inputs['gates'] as HealthGateResult[])[0];
      expect(judged).toMatchObject({ kind: 'compare', verdict: 'fail', mode: 'enforce' });
      expect(judged?.compare?.baseline.members).toBeGreaterThan(0);
      expect(judged?.compare?.baseline.reporting).toBe(judged?.compare?.baseline.members);
      expect(release.outcome?.reasons[0]?.message).toMatch(
        /^error rate 2x baseline \(99% CI [\d.]+x–[\d.]+x\), p (=|<) [\d.]+: regression$/,
      );
      await fleet.poll();
      expect([...fleet.desired.values()].every((d) => d.pack === w.packs.v1.digest)).toBe(true);
    }, 120_000);

    it('rolls back a canary slower than its baseline on the slower-than counts agents report', async () => {
      const created = await createRelease(w, { pack: w.packs.v2.digest, plan: 'judged-latency' });
      const noErrors = (): number => 0;
      for (let i = 0; i < 8 && (await getRelease(w, created.id)).state !== 'rolled_back'; i += 1) {
        await w.t.services.controller.tick();
        await fleet.step(noErrors, 2000, slowerSignals);
        w.clock.advance(60);
      }
      const release = await getRelease(w, created.id);
      expect(release.state).toBe('rolled_back');
      const timeline = await timelineOf(w, created.id);
      const failed = timeline.find((r) => r.rule === 'gate.failed');
      const judged = (failed?.inputs['gates'] as HealthGateResult[])[0];
      expect(judged).toMatchObject({ kind: 'compare', metric: 'latency', verdict: 'fail' });
      const streams = judged?.compare?.evidence.streams ?? [];
      expect(streams.map((s) => s.boundMs)).toEqual([100, 250]);
      // the canary's share of slow requests is about 3x (100 ms) and 4x (250 ms) the baseline's
      expect(streams[0]?.canary.rate).toBeCloseTo(0.3, 2);
      expect(streams[0]?.baseline.rate).toBeCloseTo(0.1, 2);
      expect(judged?.compare?.evidence.effect.lower as number).toBeGreaterThan(1);
      expect(release.outcome?.reasons[0]?.message).toMatch(/requests slower than (100|250) ms/);
    }, 120_000);

    it('keeps a latency gate inconclusive when the reports carry no slower-than counts', async () => {
      const created = await createRelease(w, { pack: w.packs.v2.digest, plan: 'judged-latency' });
      for (let i = 0; i < 4; i += 1) {
        await w.t.services.controller.tick();
        await fleet.step(() => 0, 2000);
        w.clock.advance(60);
      }
      expect((await getRelease(w, created.id)).state).not.toBe('rolled_back');
      const shown = (await status(created.id)).why?.gates ?? [];
      expect(shown[0]).toMatchObject({ verdict: 'inconclusive' });
    }, 120_000);

    it('passes an A/A stage, ends its soak early when the plan allows, and completes', async () => {
      const created = await createRelease(w, { pack: w.packs.v2.digest, plan: 'judged-early' });
      const rates = new Map([
        [w.packs.v1.digest, 0.05],
        [w.packs.v2.digest, 0.05],
      ]);
      await run(12, rates);
      const release = await getRelease(w, created.id);
      expect(release.state).toBe('completed');
      const timeline = await timelineOf(w, created.id);
      const advanced = timeline.find((r) => r.rule === 'stage.compare_passed');
      expect(advanced).toBeDefined();
      const started = timeline.find((r) => r.rule === 'stage.start');
      expect(Date.parse(advanced?.at ?? '') - Date.parse(started?.at ?? '')).toBeLessThan(
        1800 * 1000,
      );
    }, 120_000);

    // every fifth target fails five times as often as the others, on any pack: sticky bucketing
    // puts a different mix of them on each side of the stage
    const noisy = (id: string): number => (Number(id.slice(2)) % 5 === 0 ? 0.2 : 0.04);

    async function judgedAgainstHistory(v2Factor: number): Promise<string> {
      await putPlan(w, 'judged-history', [
        {
          name: 'canary',
          percent: 20,
          soakSeconds: 1800,
          baseline: {},
          gates: [{ ...compare, historySeconds: 3600 }],
        },
        { name: 'all', percent: 100, soakSeconds: 0, gates: [] },
      ]);
      // an hour of reports on v1 before the release: the targets' history
      for (let i = 0; i < 60; i += 1) {
        await fleet.step((id) => noisy(id), 2000);
        w.clock.advance(60);
      }
      const created = await createRelease(w, { pack: w.packs.v2.digest, plan: 'judged-history' });
      const rate = (id: string, pack: string | null): number =>
        noisy(id) * (pack === w.packs.v2.digest ? v2Factor : 1);
      for (let i = 0; i < 10 && (await getRelease(w, created.id)).state !== 'rolled_back'; i += 1) {
        await w.t.services.controller.tick();
        await fleet.step(rate, 2000);
        w.clock.advance(60);
      }
      return created.id;
    }

    it("judges a canary of noisy targets against the targets' own reports before the stage", async () => {
      const id = await judgedAgainstHistory(1);
      expect((await getRelease(w, id)).state).not.toBe('rolled_back');
      const gate = (await status(id)).why?.gates[0];
      const evidence = gate?.compare?.evidence;
      expect(evidence?.history?.used).toBe(true);
      const canary = evidence?.history?.canary;
      // every canary target reported its hour on v1 (the report on its first instant is outside),
      // and the stage's errors are what that history expects
      expect(canary?.targetsWithHistory).toBe(evidence?.samples.canary.targets);
      expect(canary?.requests).toBeGreaterThanOrEqual(59 * 2000 * (canary?.targets ?? 0));
      expect(canary?.expected as number).toBeCloseTo(evidence?.samples.canary.events as number, -1);
      expect(evidence?.effect.estimate as number).toBeCloseTo(1, 1);
    }, 120_000);

    it('rolls back a canary whose targets fail twice as often as they did before the stage', async () => {
      const id = await judgedAgainstHistory(2);
      const release = await getRelease(w, id);
      expect(release.state).toBe('rolled_back');
      const timeline = await timelineOf(w, id);
      const failed = timeline.find((r) => r.rule === 'gate.failed');
      const judged = (failed?.inputs['gates'] as HealthGateResult[])[0];
      expect(judged?.compare?.evidence.history?.used).toBe(true);
      expect(judged?.compare?.evidence.effect.estimate as number).toBeCloseTo(2, 0);
    }, 120_000);

    it('keeps the reports of a compare stage that soaks longer than the report retention', async () => {
      await putPlan(w, 'judged-days', [
        { name: 'canary', percent: 20, soakSeconds: 3 * 86_400, baseline: {}, gates: [compare] },
        { name: 'all', percent: 100, soakSeconds: 0, gates: [] },
      ]);
      const created = await createRelease(w, { pack: w.packs.v2.digest, plan: 'judged-days' });
      const rates = new Map([[w.packs.v2.digest, 0.02]]);
      await run(3, rates);
      const startedAt = (await getRelease(w, created.id)).stageStartedAt ?? '';
      // what a restarted server or another replica would read: the database
      const stored = async (): Promise<number> =>
        (await w.t.stores.targets.listReports(ENV, CHANNEL, startedAt, w.clock.now().toISOString()))
          .length;
      const before = await stored();
      expect(before).toBeGreaterThan(0);
      // a day and a half later, with no report since: the controller prunes old reports
      w.clock.advance(36 * 3600);
      await w.t.services.controller.tick();
      expect((await getRelease(w, created.id)).state).toBe('rolling');
      expect(await stored()).toBe(before);
      const evidence = (await status(created.id)).why?.gates[0]?.compare?.evidence;
      expect(evidence?.samples.canary.requests).toBeGreaterThan(0);
    }, 120_000);

    it('reports how often each shadow gate agreed with how the releases ended', async () => {
      const bad = await createRelease(w, { pack: w.packs.v2.digest, plan: 'judged' });
      await run(
        6,
        new Map([
          [w.packs.v1.digest, 0.05],
          [w.packs.v2.digest, 0.1],
        ]),
      );
      expect((await getRelease(w, bad.id)).state).toBe('rolled_back');
      const good = await createRelease(w, { pack: w.packs.v3.digest, plan: 'judged-early' });
      await run(
        12,
        new Map([
          [w.packs.v1.digest, 0.05],
          [w.packs.v3.digest, 0.05],
        ]),
      );
      expect((await getRelease(w, good.id)).state).toBe('completed');
      const report = await w.call<GateReport>('GET', `/channels/${ENV}/${CHANNEL}/gate-report`);
      expect(report.status).toBe(200);
      expect(report.body).toEqual({
        env: ENV,
        channel: CHANNEL,
        // the instant release that set the base counts as completed; its plan has no shadow gate
        releases: { completed: 2, rolledBack: 1 },
        gates: [
          {
            stage: 'canary',
            gate: 'error_rate <= 0.01 over 300s',
            onFail: 'rollback',
            releases: 2,
            agreed: 1,
            falseAlarms: 1,
            missed: 0,
            agreement: 0.5,
          },
        ],
      });
      const missing = await w.call('GET', `/channels/${ENV}/nowhere/gate-report`);
      expect(missing.status).toBe(404);
    }, 120_000);
  });
}
