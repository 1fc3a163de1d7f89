import type { HealthGateResult } from '@lockgate/core';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ChannelView } from '../src/features/channels/channel-service.ts';
import { verifyDecisionChain } from '../src/features/decisions/decision-log.ts';
import type { DecisionRecord } from '../src/features/decisions/decision-store.ts';
import {
  baseline,
  CHANNEL,
  createChannel,
  createRelease,
  createWorld,
  ENV,
  Fleet,
  getRelease,
  simulatedTargets,
  timelineOf,
} from './helpers/release-world.ts';
import type { World } from './helpers/release-world.ts';
import { DIALECTS, describeDialect } from './helpers/test-database.ts';

/** Simulated minutes between two rounds (controller tick, then every target checks in and reports). */
const ROUND_SECONDS = 300;

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'a fleet of 100 targets through the HTTP API', () => {
    let w: World;
    let fleet: Fleet;

    beforeEach(async () => {
      w = await createWorld(dialect);
      await createChannel(w);
      await baseline(w, w.packs.v1);
      fleet = new Fleet(
        w,
        simulatedTargets(100, (i) => ({ region: i % 2 === 0 ? 'eu-west' : 'eu-central' })),
      );
      await fleet.register();
      await fleet.step();
    });

    afterEach(async () => {
      await w.close();
    });

    const channel = async (): Promise<ChannelView> =>
      (await w.call<{ channel: ChannelView }>('GET', `/environments/${ENV}/channels/${CHANNEL}`))
        .body.channel;

    /** One round: the controller ticks, the fleet checks in and reports, the clock moves. */
    const round = async (errorRate?: (id: string, pack: string | null) => number) => {
      const tick = await w.t.services.controller.tick();
      await fleet.step(errorRate);
      w.clock.advance(ROUND_SECONDS);
      return tick;
    };

    it('rolls v2 out 10% → 50% → 100% to LKG, rolls a bad v3 back to v2, and a pin holds everyone on v2', async () => {
      const { v1, v2, v3, v4 } = w.packs;
      expect(fleet.counts()).toEqual(new Map([[v1.digest, 100]]));

      // v2 on the built-in canary plan (the channel's default).
      const rollout = await createRelease(w, { pack: 'kb@2.0.0', reason: 'kb 2.0.0' });
      expect(rollout.plan.name).toBe('canary');
      const shares: number[] = [];
      for (let i = 0; i < 20; i += 1) {
        await round();
        const share = fleet.counts().get(v2.digest) ?? 0;
        if (shares.at(-1) !== share) shares.push(share);
        if ((await getRelease(w, rollout.id)).state === 'completed') break;
      }
      expect((await getRelease(w, rollout.id)).state).toBe('completed');
      // Deterministic, sticky buckets: about 10%, then about 50%, then everyone.
      expect(shares).toHaveLength(3);
      // (bounds ±4 standard deviations of the binomial around 10 and 50)
      expect(shares[0]).toBeGreaterThanOrEqual(1);
      expect(shares[0]).toBeLessThanOrEqual(22);
      expect(shares[1]).toBeGreaterThanOrEqual(30);
      expect(shares[1]).toBeLessThanOrEqual(70);
      expect(shares[2]).toBe(100);
      const stages = (await timelineOf(w, rollout.id)).filter((r) => r.verdict === 'advanced');
      expect(stages.map((r) => (r.inputs['next'] as { percent: number }).percent)).toEqual([
        50, 100,
      ]);
      expect(await channel()).toMatchObject({ base: v2.digest, lkg: v2.digest });

      // v3 whose canary targets see 20% errors.
      const bad = await createRelease(w, { pack: 'kb@3.0.0', reason: 'kb 3.0.0' });
      const errors = (_id: string, pack: string | null): number => (pack === v3.digest ? 0.2 : 0);
      const started = await round(errors);
      expect(started.decisions).toBe(3);
      const canary = fleet.counts().get(v3.digest) ?? 0;
      expect(canary).toBeGreaterThan(0);
      expect(canary).toBeLessThan(25);
      // The next evaluation sees the canary's reports in its window and rolls back.
      await round(errors);
      const rolledBack = await getRelease(w, bad.id);
      expect(rolledBack).toMatchObject({
        state: 'rolled_back',
        stageIndex: 0,
        outcome: { rollbackTo: v2.digest },
      });
      const failed: DecisionRecord | undefined = (await timelineOf(w, bad.id)).at(-1);
      expect(failed).toMatchObject({ kind: 'health', rule: 'gate.failed', to: 'rolled_back' });
      const gates = failed?.inputs['gates'] as HealthGateResult[];
      expect(gates.find((g) => g.metric === 'error_rate')).toMatchObject({
        verdict: 'fail',
        measured: 0.2,
        threshold: 0.05,
        op: '<=',
        targets: canary,
        samples: canary * 100,
      });
      expect(fleet.counts()).toEqual(new Map([[v2.digest, 100]]));
      expect(await channel()).toMatchObject({
        base: v2.digest,
        lkg: v2.digest,
        activeRelease: null,
      });

      // A pin to v2 holds every target on v2 while it lasts, even with v4 rolling out.
      const pinned = await w.call('PUT', `/environments/${ENV}/channels/${CHANNEL}/pins/_`, {
        pack: 'kb@2.0.0',
        reason: 'hold the fleet on 2.0.0 during the investigation',
        expiresIn: '1h',
      });
      expect(pinned.status).toBe(200);
      const next = await createRelease(w, { pack: v4.digest, reason: 'kb 4.0.0' });
      for (let i = 0; i < 4; i += 1) {
        await round();
        expect(fleet.desired.size).toBe(100);
        for (const desired of fleet.desired.values()) {
          expect(desired).toEqual({ pack: v2.digest, reason: 'pin' });
        }
        expect(fleet.counts()).toEqual(new Map([[v2.digest, 100]]));
      }
      expect((await getRelease(w, next.id)).currentStage).toMatchObject({ percent: 10 });
      w.clock.advance(3600);
      await round();
      expect((await channel()).pins).toEqual([]);
      const afterPin = fleet.counts();
      expect(afterPin.get(v4.digest) ?? 0).toBeGreaterThan(0);
      expect(afterPin.get(v2.digest) ?? 0).toBeGreaterThan(50);

      const log = (await w.call<{ items: DecisionRecord[] }>('GET', '/decisions?limit=1000')).body
        .items;
      expect(verifyDecisionChain(log).ok).toBe(true);
      expect(log.filter((r) => r.kind === 'pin').map((r) => r.rule)).toEqual([
        'pin.set',
        'pin.expired',
      ]);
    }, 180_000);
  });
}
