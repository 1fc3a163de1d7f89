/**
 * The release promises, tried from the API side: a rollback never lands nowhere, agent refusals
 * reach the release, a stage reaches someone, percentage cohorts work, and trust removed means
 * eligibility lost.
 */
import { inPercent } from '@lockgate/core';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ChannelView } from '../../src/features/channels/channel-service.ts';
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

const CHANNEL_URL = `/environments/${ENV}/channels/${CHANNEL}`;
const GATE = {
  metric: 'error_rate',
  op: '<=',
  threshold: 0.05,
  windowSeconds: 300,
  minTargets: 1,
  minSamples: 10,
};
const CANARY = [
  { name: 'canary', percent: 10, soakSeconds: 600, gates: [GATE] },
  { name: 'all', percent: 100, soakSeconds: 600, gates: [GATE] },
];

async function channelOf(w: World): Promise<ChannelView> {
  return (await w.call<{ channel: ChannelView }>('GET', CHANNEL_URL)).body.channel;
}

async function desiredOf(w: World, fleet: Fleet): Promise<(string | null)[]> {
  await fleet.poll();
  return fleet.targets.map((t) => fleet.desired.get(t.id)?.pack ?? null);
}

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'fail closed (API)', () => {
    let w: World;

    beforeEach(async () => {
      w = await createWorld(dialect);
      await createChannel(w);
    });

    afterEach(async () => {
      await w.close();
    });

    it('refuses a floor above the base unless confirmed, and records the confirmation', async () => {
      await baseline(w, w.packs.v2);
      const before = await channelOf(w);
      const refused = await w.call<{ code: string; message: string }>('PUT', CHANNEL_URL, {
        floor: 3,
      });
      expect(refused.status).toBe(409);
      expect(refused.body.code).toBe('FLOOR_ABOVE_BASE');
      expect(refused.body.message).toMatch(/above its base kb@2\.0\.0 \(sequence 2\)/);
      const after = await channelOf(w);
      expect(after.floor).toBe(before.floor);
      expect(after.indexVersion).toBe(before.indexVersion);

      const confirmed = await w.call('PUT', CHANNEL_URL, {
        floor: 3,
        acceptBaseBelowFloor: true,
        reason: 'v2 has a known flaw',
      });
      expect(confirmed.status).toBe(200);
      const records = await w.call<{ items: { rule: string; inputs: Record<string, unknown> }[] }>(
        'GET',
        `/decisions?limit=1000`,
      );
      const updated = records.body.items.filter((r) => r.rule === 'channel.updated').at(-1);
      expect(updated?.inputs.baseBelowFloor).toMatchObject({ sequence: 2, accepted: true });
    });

    it('never records a rollback that leaves targets without a pack (manual and automatic)', async () => {
      await baseline(w, w.packs.v2);
      await w.call('PUT', CHANNEL_URL, { floor: 3, acceptBaseBelowFloor: true, reason: 'raise' });
      await putPlan(w, 'gated', [{ name: 'all', percent: 100, soakSeconds: 3600, gates: [GATE] }]);
      const fleet = new Fleet(w, simulatedTargets(6));
      await fleet.register();
      const release = await createRelease(w, { pack: w.packs.v3.digest, plan: 'gated' });
      await w.t.services.controller.tick();
      await fleet.step();
      expect(fleet.counts().get(w.packs.v3.digest)).toBe(6);

      // Manual: LKG v2 is below floor 3; refused, nothing changed, and it says what allows it.
      const manual = await w.call<{ code: string; message: string }>(
        'POST',
        `/releases/${release.id}/rollback`,
        { reason: 'try it' },
      );
      expect(manual.status).toBe(409);
      expect(manual.body.code).toBe('ROLLBACK_TARGET_NOT_ALLOWED');
      expect(manual.body.message).toMatch(/rollback-auth add/);
      expect((await getRelease(w, release.id)).state).toBe('rolling');
      expect(await desiredOf(w, fleet)).toEqual(Array(6).fill(w.packs.v3.digest));

      // Automatic: the gate fails; the controller holds the release instead of lying.
      w.clock.advance(30);
      await fleet.step(() => 0.5);
      await w.t.services.controller.tick();
      const held = await getRelease(w, release.id);
      expect(held.state).toBe('paused');
      expect(held.pausedReason).toMatch(/below the channel floor 3/);
      expect(await desiredOf(w, fleet)).toEqual(Array(6).fill(w.packs.v3.digest));
      const rules = (await timelineOf(w, release.id)).map((r) => r.rule);
      expect(rules.filter((r) => r === 'rollback.blocked')).toHaveLength(1);
      await w.t.services.controller.tick();
      expect((await timelineOf(w, release.id)).map((r) => r.rule)).toEqual(rules);

      // An operator authorizes v2: the next tick rolls back, and every target has v2.
      const auth = await w.call('POST', `${CHANNEL_URL}/rollback-authorizations`, {
        pack: w.packs.v2.digest,
        reason: 'v2 is safer than v3',
        expiresIn: '1h',
      });
      expect(auth.status).toBe(201);
      await fleet.step(() => 0.5);
      await w.t.services.controller.tick();
      const rolled = await getRelease(w, release.id);
      expect(rolled).toMatchObject({
        state: 'rolled_back',
        outcome: { rollbackTo: w.packs.v2.digest },
      });
      expect(await desiredOf(w, fleet)).toEqual(Array(6).fill(w.packs.v2.digest));
    });

    it('rolls the release back when stage agents refuse the pack, with codes and counts', async () => {
      await baseline(w, w.packs.v1);
      await putPlan(w, 'small-canary', CANARY);
      const fleet = new Fleet(w, simulatedTargets(20));
      await fleet.register();
      await fleet.step();
      const release = await createRelease(w, { pack: w.packs.v2.digest, plan: 'small-canary' });
      await w.t.services.controller.tick();
      await fleet.poll();
      const inStage = fleet.targets.filter(
        (t) => fleet.desired.get(t.id)?.pack === w.packs.v2.digest,
      );
      expect(inStage.length).toBeGreaterThan(0);
      w.clock.advance(5);
      const at = w.clock.now().toISOString();
      for (const target of inStage) {
        const posted = await w.call('POST', `/targets/${target.id}/reports`, {
          activePack: w.packs.v1.digest,
          lastAttempt: {
            kind: 'verify',
            pack: w.packs.v2.digest,
            result: 'failed',
            code: 'PACK_INCOMPATIBLE',
            at,
          },
        });
        expect(posted.status).toBe(202);
      }
      await w.t.services.controller.tick();
      const done = await getRelease(w, release.id);
      expect(done.state).toBe('rolled_back');
      expect(done.outcome?.summary).toBe(
        `agents refused the pack: PACK_INCOMPATIBLE on ${inStage.length} target(s)`,
      );
      const refused = (await timelineOf(w, release.id)).find((r) => r.rule === 'stage.refused');
      expect(refused?.inputs.refusals).toEqual([
        { kind: 'verify', code: 'PACK_INCOMPATIBLE', targets: inStage.length },
      ]);
    });

    it('gives a 10% stage of a small channel at least one target, whatever the release id', async () => {
      await baseline(w, w.packs.v1);
      await putPlan(w, 'small-canary', CANARY);
      const fleet = new Fleet(w, simulatedTargets(10));
      await fleet.register();
      // Look for releases whose plain 10% bucket holds none of the 10 targets (about 1 in 3).
      let empty = 0;
      for (let i = 0; i < 40 && empty < 2; i += 1) {
        const release = await createRelease(w, { pack: w.packs.v2.digest, plan: 'small-canary' });
        await w.t.services.controller.tick();
        const natural = fleet.targets.filter((t) => inPercent(release.id, t.id, 10));
        const reached = (await desiredOf(w, fleet)).filter((d) => d === w.packs.v2.digest);
        expect(reached.length).toBeGreaterThanOrEqual(1);
        if (natural.length === 0) {
          empty += 1;
          expect(reached).toHaveLength(1);
        } else expect(reached).toHaveLength(natural.length);
        const aborted = await w.call('POST', `/releases/${release.id}/abort`, { reason: 'again' });
        expect(aborted.status).toBe(200);
      }
      expect(empty).toBeGreaterThan(0);
    });

    it('lets stages and pins use a percentage cohort with the same sticky bucket', async () => {
      await baseline(w, w.packs.v1);
      const put = await w.call('PUT', CHANNEL_URL, { cohorts: [{ name: 'early', percent: 30 }] });
      expect(put.status).toBe(200);
      await putPlan(w, 'early-first', [
        { name: 'early', cohort: 'early', percent: 100, soakSeconds: 600, gates: [GATE] },
        { name: 'all', percent: 100, soakSeconds: 600, gates: [GATE] },
      ]);
      const fleet = new Fleet(w, simulatedTargets(40));
      await fleet.register();
      const release = await createRelease(w, { pack: w.packs.v2.digest, plan: 'early-first' });
      await w.t.services.controller.tick();
      const early = (await desiredOf(w, fleet))
        .map((d, i) => (d === w.packs.v2.digest ? fleet.targets[i]?.id : null))
        .filter((id) => id !== null);
      expect(early.length).toBeGreaterThan(3);
      expect(early.length).toBeLessThan(25);
      expect((await getRelease(w, release.id)).state).toBe('rolling');

      // A pin on the same cohort holds exactly the same targets.
      await w.call('POST', `/releases/${release.id}/abort`, { reason: 'pin instead' });
      const pin = await w.call('PUT', `${CHANNEL_URL}/pins/early`, {
        pack: w.packs.v1.digest,
        reason: 'hold the early ring',
        expiresIn: '1h',
      });
      expect(pin.status).toBe(200);
      await baseline(w, w.packs.v3);
      await fleet.poll();
      const held = fleet.targets
        .filter((t) => fleet.desired.get(t.id)?.reason === 'pin')
        .map((t) => t.id);
      expect(held).toEqual(early);
      // The cohort cannot change while the pin holds it.
      const change = await w.call<{ code: string }>('PUT', CHANNEL_URL, {
        cohorts: [{ name: 'early', percent: 50 }],
      });
      expect(change.status).toBe(409);
      expect(change.body.code).toBe('CONFLICT');
    });

    it('re-evaluates trust: a removed signer makes the pack ineligible at creation and mid-rollout', async () => {
      await baseline(w, w.packs.v1);
      await putPlan(w, 'small-canary', CANARY);
      const fleet = new Fleet(w, simulatedTargets(10));
      await fleet.register();
      const release = await createRelease(w, { pack: w.packs.v2.digest, plan: 'small-canary' });
      await w.t.services.controller.tick();
      expect((await getRelease(w, release.id)).state).toBe('rolling');
      const keyId = w.packs.v2.manifest.signatures[0]?.keyId ?? '';
      const removed = await w.call('DELETE', `/trust/keys/${encodeURIComponent(keyId)}`);
      expect(removed.status).toBe(200);

      await w.t.services.controller.tick();
      const rolled = await getRelease(w, release.id);
      expect(rolled.state).toBe('rolled_back');
      expect(rolled.outcome?.reasons.map((r) => r.code)).toContain('PACK_SIGNER_UNTRUSTED');
      const rules = (await timelineOf(w, release.id)).map((r) => r.rule);
      expect(rules).toContain('verification.failed_during_rollout');

      const again = await w.call<{ code: string; message: string }>('POST', '/releases', {
        env: ENV,
        channel: CHANNEL,
        pack: w.packs.v3.digest,
        reason: 'after the key went',
      });
      expect(again.status).toBe(422);
      expect(again.body.code).toBe('RELEASE_NOT_ELIGIBLE');
      expect(again.body.message).toMatch(/not signed by a build key trusted now/);
      expect((await channelOf(w)).activeRelease).toBeNull();
    });
  });
}
