import type { HealthGateResult } from '@lockgate/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChannelView } from '../../src/features/channels/channel-service.ts';
import type { DecisionRecord } from '../../src/features/decisions/decision-store.ts';
import type { ReleaseView } from '../../src/features/releases/release-service.ts';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';
import {
  CHANNEL,
  createFleetWorld,
  createRelease,
  ENV,
  getRelease,
  putPlan,
  timelineOf,
} from '../helpers/release-world.ts';
import type { World, Fleet } from '../helpers/release-world.ts';

const gate = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  metric: 'error_rate',
  op: '<=',
  threshold: 0.05,
  windowSeconds: 300,
  minTargets: 1,
  minSamples: 50,
  ...overrides,
});

/** 25% for 10 minutes, then everyone for 10 minutes; one error-rate gate each. */
const TWO_STAGES = [
  { name: 'canary', percent: 25, soakSeconds: 600, gates: [gate()] },
  { name: 'all', percent: 100, soakSeconds: 600, gates: [gate()] },
];

const CHANNEL_URL = `/environments/${ENV}/channels/${CHANNEL}`;

async function channelOf(w: World): Promise<ChannelView> {
  const got = await w.call<{ channel: ChannelView }>('GET', CHANNEL_URL);
  return got.body.channel;
}

/** Ticks the controller, lets the fleet act and report, and moves the clock, `n` times. */
async function run(
  w: World,
  fleet: Fleet,
  n: number,
  options: { seconds?: number; errorRate?: (id: string, pack: string | null) => number } = {},
): Promise<void> {
  for (let i = 0; i < n; i += 1) {
    await w.t.services.controller.tick();
    await fleet.step(options.errorRate);
    w.clock.advance(options.seconds ?? 60);
  }
}

function gateOf(record: DecisionRecord | undefined, metric: string): HealthGateResult | undefined {
  return (record?.inputs['gates'] as HealthGateResult[] | undefined)?.find(
    (g) => g.metric === metric,
  );
}

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'releases under a simulated clock', () => {
    let w: World;
    let fleet: Fleet;

    beforeEach(async () => {
      ({ w, fleet } = await createFleetWorld(dialect, { name: 'two', stages: TWO_STAGES }, 40));
    });

    afterEach(async () => {
      await w.close();
    });

    describe('a healthy release', () => {
      it('completes, becomes the LKG and base, and every target is told to run it', async () => {
        const created = await createRelease(w, { pack: w.packs.v2.digest, plan: 'two' });
        expect(created).toMatchObject({ state: 'requested', requestedBy: 'admin', version: 0 });
        await run(w, fleet, 25);
        const release = await getRelease(w, created.id);
        expect(release.state).toBe('completed');
        const channel = await channelOf(w);
        expect(channel).toMatchObject({
          base: w.packs.v2.digest,
          lkg: w.packs.v2.digest,
          activeRelease: null,
        });
        await fleet.poll();
        expect([...fleet.desired.values()].every((d) => d.pack === w.packs.v2.digest)).toBe(true);
        const timeline = await timelineOf(w, created.id);
        expect(timeline.map((r) => [r.rule, r.from, r.to, r.stageIndex])).toEqual([
          ['release.create', null, 'requested', 0],
          ['release.start', 'requested', 'verifying', 0],
          ['verification.passed', 'verifying', 'rolling', 0],
          ['stage.start', 'rolling', 'rolling', 0],
          ['stage.soak_complete', 'rolling', 'rolling', 1],
          ['stage.soak_complete', 'rolling', 'completed', 1],
        ]);
        const holder = w.t.services.controller.holder;
        expect(
          timeline.slice(1).every((r) => r.actor === 'controller' && r.holder === holder),
        ).toBe(true);
        expect(timeline[0]).toMatchObject({ actor: 'admin', reason: 'ship it', holder: null });
      });

      it('writes nothing more when ticked again at the same time (decide is idempotent)', async () => {
        const created = await createRelease(w, { pack: w.packs.v2.digest, plan: 'two' });
        const first = await w.t.services.controller.tick();
        expect(first.decisions).toBe(3);
        const again = await w.t.services.controller.tick();
        expect(again).toMatchObject({ leader: true, decisions: 0, indexes: 0 });
        expect(await timelineOf(w, created.id)).toHaveLength(4);
      });
    });

    describe('a bad canary', () => {
      it('is rolled back to the previous pack at the first tick after its targets report 20% errors', async () => {
        const created = await createRelease(w, { pack: w.packs.v3.digest, plan: 'two' });
        await w.t.services.controller.tick();
        expect((await getRelease(w, created.id)).currentStage?.startedAt).not.toBeNull();
        const bad = (_id: string, pack: string | null): number =>
          pack === w.packs.v3.digest ? 0.2 : 0;
        await fleet.step(bad);
        const onCanary = fleet.counts().get(w.packs.v3.digest) ?? 0;
        expect(onCanary).toBeGreaterThan(0);
        expect(onCanary).toBeLessThan(40);
        w.clock.advance(60);
        await w.t.services.controller.tick();

        const release = await getRelease(w, created.id);
        expect(release).toMatchObject({
          state: 'rolled_back',
          stageIndex: 0,
          outcome: { rollbackTo: w.packs.v1.digest },
        });
        const failed = (await timelineOf(w, created.id)).at(-1);
        expect(failed).toMatchObject({
          kind: 'health',
          rule: 'gate.failed',
          from: 'rolling',
          to: 'rolled_back',
          verdict: 'rolled_back',
          actor: 'controller',
        });
        expect(gateOf(failed, 'error_rate')).toMatchObject({
          verdict: 'fail',
          measured: 0.2,
          threshold: 0.05,
          op: '<=',
          samples: onCanary * 100,
        });
        expect(failed?.inputs['rollback']).toMatchObject({
          lkg: w.packs.v1.digest,
          to: w.packs.v1.digest,
        });
        // Targets that committed v3 may go back: the rollback authorizes v1 in the signed index.
        const log = (await w.call<{ items: DecisionRecord[] }>('GET', '/decisions?limit=1000')).body
          .items;
        // (the release's evidence records, its stage attestation and seal, follow it)
        const decided = log.filter((record) => !record.rule.startsWith('evidence.'));
        expect(decided.at(-1)).toMatchObject({
          kind: 'rollback_authorization',
          rule: 'rollback_authorization.granted_by_rollback',
          actor: 'controller',
          holder: w.t.services.controller.holder,
          inputs: { release: created.id, from: w.packs.v3.digest, pack: w.packs.v1.digest },
        });
        expect((await channelOf(w)).rollbackAuthorizations).toEqual([
          expect.objectContaining({
            pack: w.packs.v1.digest,
            expiresAt: new Date(w.clock.now().getTime() + 7 * 86_400_000).toISOString(),
          }),
        ]);
        expect(await channelOf(w)).toMatchObject({
          base: w.packs.v1.digest,
          lkg: w.packs.v1.digest,
          activeRelease: null,
        });
        await fleet.step();
        expect(fleet.counts()).toEqual(new Map([[w.packs.v1.digest, 40]]));
      });
    });

    describe('too little data', () => {
      it('stays inconclusive, then pauses at the progress deadline; resume starts the clock again', async () => {
        await putPlan(w, 'strict', [
          {
            name: 'all',
            percent: 100,
            soakSeconds: 60,
            progressDeadlineSeconds: 300,
            gates: [gate({ minSamples: 1_000_000 })],
          },
        ]);
        const created = await createRelease(w, { pack: w.packs.v2.digest, plan: 'strict' });
        await run(w, fleet, 5);
        expect((await getRelease(w, created.id)).state).toBe('rolling');
        await run(w, fleet, 1);
        const paused = await getRelease(w, created.id);
        expect(paused.state).toBe('paused');
        expect(paused.pausedReason).toMatch(/gates inconclusive 300s after the stage started/);
        const last = (await timelineOf(w, created.id)).at(-1);
        expect(last).toMatchObject({ rule: 'gate.inconclusive_past_deadline', verdict: 'paused' });
        expect(gateOf(last, 'error_rate')?.verdict).toBe('inconclusive');
        // Paused: the rollout stays where it was, and ticks change nothing.
        expect((await w.t.services.controller.tick()).decisions).toBe(0);
        const resumed = await w.call<{ release: ReleaseView }>(
          'POST',
          `/releases/${created.id}/resume`,
          { reason: 'looked at it' },
        );
        expect(resumed.status).toBe(200);
        expect(resumed.body.release).toMatchObject({
          state: 'rolling',
          currentStage: { startedAt: w.clock.now().toISOString() },
        });
      });
    });

    describe('approvals', () => {
      beforeEach(async () => {
        await putPlan(w, 'approved', [
          { name: 'canary', percent: 25, soakSeconds: 60, gates: [], approvals: 2 },
          { name: 'all', percent: 100, soakSeconds: 60, gates: [], approvals: 1 },
        ]);
      });

      it('refuses self-approval and a second approval by the same principal, and starts after N distinct ones', async () => {
        const created = await createRelease(w, { pack: w.packs.v2.digest, plan: 'approved' });
        await w.t.services.controller.tick();
        expect(await getRelease(w, created.id)).toMatchObject({
          state: 'rolling',
          stageStartedAt: null,
        });
        const approve = async (as: string): Promise<{ status: number; code: unknown }> => {
          const headers = as === 'admin' ? {} : await w.as(as);
          const answer = await w.call(
            'POST',
            `/releases/${created.id}/approve`,
            { reason: `${as} agrees` },
            headers,
          );
          return { status: answer.status, code: answer.body['code'] };
        };
        expect(await approve('admin')).toEqual({ status: 403, code: 'APPROVAL_SELF' });
        expect(await approve('alice')).toEqual({ status: 200, code: undefined });
        expect(await approve('alice')).toEqual({ status: 409, code: 'APPROVAL_DUPLICATE' });
        await w.t.services.controller.tick();
        expect((await getRelease(w, created.id)).stageStartedAt).toBeNull();
        await fleet.poll();
        expect([...fleet.desired.values()].every((d) => d.pack === w.packs.v1.digest)).toBe(true);

        expect(await approve('bob')).toEqual({ status: 200, code: undefined });
        await w.t.services.controller.tick();
        const started = await getRelease(w, created.id);
        expect(started.stageStartedAt).toBe(w.clock.now().toISOString());
        expect(started.approvals.map((a) => a.actor)).toEqual(['alice', 'bob']);
        const timeline = await timelineOf(w, created.id);
        expect(
          timeline.filter((r) => r.kind === 'approval').map((r) => [r.actor, r.rule, r.verdict]),
        ).toEqual([
          ['alice', 'command.approve', 'approval_recorded'],
          ['bob', 'command.approve', 'approvals_met'],
          ['controller', 'approvals.met', 'started'],
        ]);
      });

      it('aborts the release when an approver rejects it, and the channel returns to its base', async () => {
        const created = await createRelease(w, { pack: w.packs.v2.digest, plan: 'approved' });
        await w.t.services.controller.tick();
        for (const name of ['alice', 'bob']) {
          await w.call(
            'POST',
            `/releases/${created.id}/approve`,
            { reason: 'ok' },
            await w.as(name),
          );
        }
        await run(w, fleet, 2);
        expect(fleet.counts().get(w.packs.v2.digest) ?? 0).toBeGreaterThan(0);
        const rejected = await w.call<{ release: ReleaseView }>(
          'POST',
          `/releases/${created.id}/reject`,
          { reason: 'not this week' },
          await w.as('carol'),
        );
        expect(rejected.status).toBe(200);
        expect(rejected.body.release).toMatchObject({ state: 'aborted', currentStage: null });
        expect((await timelineOf(w, created.id)).at(-1)).toMatchObject({
          kind: 'approval',
          rule: 'command.reject',
          actor: 'carol',
          reason: 'not this week',
          to: 'aborted',
        });
        expect((await channelOf(w)).activeRelease).toBeNull();
        await fleet.step();
        expect(fleet.counts()).toEqual(new Map([[w.packs.v1.digest, 40]]));
      });
    });

    describe('freeze windows', () => {
      const freeze = async (minutes: number): Promise<string> => {
        const now = w.clock.now();
        const added = await w.call<{ freezeWindow: { id: string } }>(
          'POST',
          `/environments/${ENV}/freeze-windows`,
          {
            reason: 'launch day',
            kind: 'once',
            start: now.toISOString(),
            end: new Date(now.getTime() + minutes * 60_000).toISOString(),
          },
        );
        expect(added.status).toBe(201);
        return added.body.freezeWindow.id;
      };

      it('hold a release from starting, recorded once, until the window is removed', async () => {
        const id = await freeze(60);
        const created = await createRelease(w, { pack: w.packs.v2.digest, plan: 'two' });
        await run(w, fleet, 3);
        expect((await getRelease(w, created.id)).state).toBe('requested');
        const blocks = (await timelineOf(w, created.id)).filter((r) => r.kind === 'freeze');
        expect(blocks.map((r) => r.rule)).toEqual(['freeze.blocks_start']);
        const removed = await w.call('DELETE', `/environments/${ENV}/freeze-windows/${id}`, {
          reason: 'launch moved',
        });
        expect(removed.status).toBe(200);
        await w.t.services.controller.tick();
        expect((await getRelease(w, created.id)).state).toBe('rolling');
      });

      it('hold a stage from advancing and refuse promote, but never hold a rollback', async () => {
        const created = await createRelease(w, { pack: w.packs.v3.digest, plan: 'two' });
        await run(w, fleet, 1);
        await freeze(120);
        await run(w, fleet, 12);
        const held = await getRelease(w, created.id);
        expect(held).toMatchObject({ state: 'rolling', stageIndex: 0 });
        expect((await timelineOf(w, created.id)).at(-1)?.rule).toBe('freeze.blocks_advance');
        const promoted = await w.call('POST', `/releases/${created.id}/promote`, {
          reason: 'hurry',
        });
        expect(promoted).toMatchObject({ status: 409, body: { code: 'FREEZE_ACTIVE' } });
        await run(w, fleet, 2, {
          errorRate: (_id, pack) => (pack === w.packs.v3.digest ? 0.5 : 0),
        });
        expect((await getRelease(w, created.id)).state).toBe('rolled_back');
        expect((await channelOf(w)).base).toBe(w.packs.v1.digest);
      });
    });

    describe('pins', () => {
      it('hold every target while they last, lapse by themselves (recorded), and the desired pack falls back', async () => {
        const pinned = await w.call('PUT', `${CHANNEL_URL}/pins/_`, {
          pack: 'kb@2.0.0',
          reason: 'hold for the audit',
          expiresIn: '1h',
        });
        expect(pinned.status).toBe(200);
        expect(pinned.body).toMatchObject({
          pin: {
            cohort: '_',
            pack: w.packs.v2.digest,
            actor: 'admin',
            expiresAt: new Date(w.clock.now().getTime() + 3_600_000).toISOString(),
          },
        });
        await fleet.poll();
        expect(
          [...fleet.desired.values()].every(
            (d) => d.pack === w.packs.v2.digest && d.reason === 'pin',
          ),
        ).toBe(true);
        const before = await channelOf(w);
        expect(before.rollbackAuthorizations).toEqual([
          expect.objectContaining({
            pack: w.packs.v2.digest,
            reason: 'pin _: hold for the audit',
            expiresAt: before.pins[0]?.expiresAt,
          }),
        ]);
        w.clock.advance(3600);
        const tick = await w.t.services.controller.tick();
        expect(tick.decisions).toBe(1);
        const after = await channelOf(w);
        expect(after.pins).toEqual([]);
        expect(after.indexVersion).toBe(before.indexVersion + 1);
        const log = await w.call<{ items: DecisionRecord[] }>('GET', '/decisions?after=0');
        expect(log.body.items.at(-1)).toMatchObject({
          kind: 'pin',
          rule: 'pin.expired',
          actor: 'controller',
          holder: w.t.services.controller.holder,
          env: ENV,
          channel: CHANNEL,
          release: null,
          inputs: { cohort: '_', pack: w.packs.v2.digest, pinReason: 'hold for the audit' },
        });
        await fleet.poll();
        expect(
          [...fleet.desired.values()].every(
            (d) => d.pack === w.packs.v1.digest && d.reason === 'base',
          ),
        ).toBe(true);
      });

      it('refuse a pin without an expiry or a reason, or of a revoked pack', async () => {
        const url = `${CHANNEL_URL}/pins/_`;
        expect(await w.call('PUT', url, { pack: w.packs.v2.digest, reason: 'x' })).toMatchObject({
          status: 400,
          body: { code: 'PIN_INVALID' },
        });
        expect(
          await w.call('PUT', url, { pack: w.packs.v2.digest, reason: ' ', expiresIn: '1h' }),
        ).toMatchObject({ status: 400, body: { code: 'PIN_INVALID' } });
        expect(
          await w.call('PUT', url, {
            pack: w.packs.v2.digest,
            reason: 'x',
            expiresAt: '2020-01-01T00:00:00Z',
          }),
        ).toMatchObject({ status: 400, body: { code: 'PIN_INVALID' } });
        await w.call('POST', `/packs/${w.packs.v2.digest}/revoke`, { reason: 'leaks' });
        expect(
          await w.call('PUT', url, { pack: w.packs.v2.digest, reason: 'x', expiresIn: '1h' }),
        ).toMatchObject({ status: 422, body: { code: 'PACK_REVOKED' } });
        expect(await w.call('DELETE', url, { reason: 'none set' })).toMatchObject({
          status: 404,
          body: { code: 'PIN_NOT_FOUND' },
        });
      });
    });

    describe('revocation', () => {
      it('never lets a revoked pack be desired: the rollout stops at once and the release rolls back', async () => {
        const created = await createRelease(w, { pack: w.packs.v2.digest, plan: 'two' });
        await run(w, fleet, 2);
        expect(fleet.counts().get(w.packs.v2.digest) ?? 0).toBeGreaterThan(0);
        const revoked = await w.call('POST', `/packs/${w.packs.v2.digest}/revoke`, {
          reason: 'CVE in the model',
        });
        expect(revoked).toMatchObject({ status: 200, body: { revoked: w.packs.v2.digest } });
        expect((await channelOf(w)).revoked).toEqual([w.packs.v2.digest]);
        await fleet.poll();
        expect([...fleet.desired.values()].some((d) => d.pack === w.packs.v2.digest)).toBe(false);
        await run(w, fleet, 1);
        const release = await getRelease(w, created.id);
        expect(release.state).toBe('rolled_back');
        expect((await timelineOf(w, created.id)).at(-1)?.rule).toBe(
          'verification.failed_during_rollout',
        );
        for (let i = 0; i < 3; i += 1) {
          await run(w, fleet, 1);
          expect(fleet.counts()).toEqual(new Map([[w.packs.v1.digest, 40]]));
        }
        const again = await createRelease(w, { pack: w.packs.v2.digest, plan: 'two' });
        await w.t.services.controller.tick();
        const failed = await getRelease(w, again.id);
        expect(failed.state).toBe('failed');
        expect(failed.outcome?.reasons.map((r) => r.code)).toContain('PACK_REVOKED');
      });
    });
  });
}
