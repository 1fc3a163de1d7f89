import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ReleaseView } from '../../src/features/releases/release-service.ts';
import type { ReleaseWhy } from '../../src/features/releases/release-why.ts';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';
import {
  baseline,
  createChannel,
  createRelease,
  createWorld,
  ENV,
  Fleet,
  putPlan,
  simulatedTargets,
  timelineOf,
} from '../helpers/release-world.ts';
import type { World } from '../helpers/release-world.ts';

const ERROR_GATE = {
  metric: 'error_rate',
  op: '<=',
  threshold: 0.05,
  windowSeconds: 300,
  minTargets: 1,
  minSamples: 20,
};

async function statusOf(w: World, id: string): Promise<{ release: ReleaseView; why: ReleaseWhy }> {
  const got = await w.call<{ release: ReleaseView; why: ReleaseWhy }>('GET', `/releases/${id}`);
  expect(got.status).toBe(200);
  return got.body;
}

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'why a release is not moving', () => {
    let w: World;

    beforeEach(async () => {
      w = await createWorld(dialect);
      await createChannel(w);
      await baseline(w, w.packs.v1);
    });

    afterEach(async () => {
      await w.close();
    });

    it('names the freeze window that blocks the start, with its end', async () => {
      const until = new Date(w.clock.now().getTime() + 2 * 3_600_000).toISOString();
      const frozen = await w.call<{ freezeWindow: { id: string } }>(
        'POST',
        `/environments/${ENV}/freeze-windows`,
        { reason: 'black friday', kind: 'once', start: w.clock.now().toISOString(), end: until },
      );
      expect(frozen.status).toBe(201);
      const release = await createRelease(w, { pack: w.packs.v2.digest, plan: 'instant' });
      await w.t.services.controller.tick();
      const { why } = await statusOf(w, release.id);
      expect(why.freeze).toMatchObject({ reason: 'black friday', until });
      expect(why.blockers).toEqual([
        {
          kind: 'freeze',
          message: `freeze window ${why.freeze?.id ?? '?'} until ${until} (black friday) blocks the start`,
        },
      ]);
    });

    it('gives the stage target count, the gates against their thresholds and agent refusals', async () => {
      await putPlan(w, 'two', [
        { name: 'canary', percent: 50, soakSeconds: 600, gates: [ERROR_GATE] },
        { name: 'all', percent: 100, soakSeconds: 600, gates: [ERROR_GATE] },
      ]);
      // 20 targets: the canary's half is drawn by the release id (a new salt each run), and the
      // test needs two outside it (fewer with a chance of 21 in 2^20; with 8 it was 9 in 256)
      const fleet = new Fleet(w, simulatedTargets(20));
      await fleet.register();
      const release = await createRelease(w, { pack: w.packs.v2.digest, plan: 'two' });
      await w.t.services.controller.tick();
      await fleet.step((_id, pack) => (pack === w.packs.v2.digest ? 0.125 : 0), 40);
      const inStage = [...fleet.desired.entries()]
        .filter(([, d]) => d.pack === w.packs.v2.digest)
        .map(([id]) => id);
      const refusing = fleet.targets.map((t) => t.id).filter((id) => !inStage.includes(id));
      expect(refusing.length).toBeGreaterThanOrEqual(2);
      for (const id of refusing.slice(0, 2)) {
        const reported = await w.call('POST', `/targets/${id}/reports`, {
          activePack: w.packs.v1.digest,
          lastAttempt: {
            kind: 'verify',
            pack: w.packs.v2.digest,
            result: 'failed',
            code: 'PACK_INCOMPATIBLE',
            at: w.clock.now().toISOString(),
          },
        });
        expect(reported.status).toBe(202);
      }

      const { release: view, why } = await statusOf(w, release.id);
      expect(view.state).toBe('rolling');
      expect(why.stage).toMatchObject({
        index: 0,
        name: 'canary',
        targets: inStage.length,
        onPack: inStage.length,
        channelTargets: 20,
      });
      expect(why.gates).toEqual([
        expect.objectContaining({
          metric: 'error_rate',
          verdict: inStage.length === 0 ? 'inconclusive' : 'fail',
          threshold: 0.05,
          targets: inStage.length,
          samples: 40 * inStage.length,
        }),
      ]);
      if (inStage.length > 0) expect(why.gates[0]?.measured).toBe(0.125);
      expect(why.refusals).toEqual({
        targets: 2,
        groups: [
          {
            kind: 'verify',
            code: 'PACK_INCOMPATIBLE',
            targets: 2,
            sample: refusing.slice(0, 2).sort(),
          },
        ],
      });
      expect(why.blockers.map((b) => b.kind)).toContain('refusals');
      expect(why.blockers.find((b) => b.kind === 'refusals')?.message).toBe(
        '2 target(s) refused the pack: verify PACK_INCOMPATIBLE ×2',
      );
    });

    it('says which approvals a stage waits for', async () => {
      await putPlan(w, 'gated', [
        { name: 'all', percent: 100, soakSeconds: 0, gates: [], approvals: 2 },
      ]);
      const release = await createRelease(w, { pack: w.packs.v2.digest, plan: 'gated' });
      await w.t.services.controller.tick();
      const approved = await w.call(
        'POST',
        `/releases/${release.id}/approve`,
        { reason: 'ok' },
        await w.as('bob'),
      );
      expect(approved.status).toBe(200);
      const { why } = await statusOf(w, release.id);
      expect(why.approvals).toEqual({
        stage: 0,
        name: 'all',
        needed: 2,
        approvers: ['bob'],
        waiting: true,
      });
      expect(why.blockers).toEqual([
        { kind: 'approval', message: 'stage 1 all waits for approvals: 1/2 (bob)' },
      ]);
    });

    it("shows a prometheus gate's answer recorded by the controller, not a question never asked", async () => {
      const query = 'max(example_error_ratio{target=~"{{targets}}"})';
      await putPlan(w, 'watched', [
        {
          name: 'all',
          percent: 100,
          soakSeconds: 0,
          progressDeadlineSeconds: 1,
          gates: [{ provider: 'prometheus', query, op: '<=', threshold: 0.05, windowSeconds: 60 }],
        },
      ]);
      const fleet = new Fleet(w, simulatedTargets(3));
      await fleet.register();
      const release = await createRelease(w, { pack: w.packs.v2.digest, plan: 'watched' });
      await w.t.services.controller.tick();
      await fleet.step();
      const rendered = 'max(example_error_ratio{target=~"t-000|t-001|t-002"})';

      // Nothing recorded for the stage yet: the status asks nobody.
      const before = await statusOf(w, release.id);
      expect(before.why.gates).toMatchObject([
        {
          provider: 'prometheus',
          query: rendered,
          reasons: ['Prometheus was not asked this query'],
        },
      ]);

      // No Prometheus is configured: the answer is an error, the stage pauses past its deadline.
      w.clock.advance(2);
      await w.t.services.controller.tick();
      const { release: paused, why } = await statusOf(w, release.id);
      expect(paused.state).toBe('paused');
      const record = (await timelineOf(w, release.id)).at(-1);
      expect(record?.rule).toBe('gate.inconclusive_past_deadline');
      const [gate] = why.gates;
      expect(gate).toMatchObject({
        provider: 'prometheus',
        verdict: 'inconclusive',
        query: rendered,
        answer: { status: 'error', series: [] },
      });
      expect(gate?.reasons).toEqual([
        'the query failed: no Prometheus URL is configured (LOCKGATE_PROMETHEUS_URL)',
        `answer of ${gate?.answer?.at ?? '?'}, recorded in decision ${record?.seq ?? '?'} at ${record?.at ?? '?'}`,
      ]);
      expect(JSON.stringify(why)).not.toContain('was not asked');
    });

    it('has no why once the release ended', async () => {
      const release = await createRelease(w, { pack: w.packs.v2.digest, plan: 'instant' });
      await w.t.services.controller.tick();
      const got = await w.call<{ release: ReleaseView; why: unknown }>(
        'GET',
        `/releases/${release.id}`,
      );
      expect(got.body.release.state).toBe('completed');
      expect(got.body.why).toBeNull();
    });
  });
}
