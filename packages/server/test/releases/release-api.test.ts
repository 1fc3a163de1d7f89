import { decide, decisionDigest, parsePublicKey, verifyChannelIndex } from '@lockgate/core';
import type { DsseEnvelope } from '@lockgate/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChannelView } from '../../src/features/channels/channel-service.ts';
import { draftOf, verifyDecisionChain } from '../../src/features/decisions/decision-log.ts';
import type { DecisionRecord } from '../../src/features/decisions/decision-store.ts';
import { commitReleaseChange } from '../../src/features/releases/release-commit.ts';
import { loadReleaseContext } from '../../src/features/releases/release-context.ts';
import type { ReleaseView } from '../../src/features/releases/release-service.ts';
import { createServices } from '../../src/services.ts';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';
import {
  baseline,
  CHANNEL,
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

const CHANNEL_URL = `/environments/${ENV}/channels/${CHANNEL}`;
const SLOW = [{ name: 'all', percent: 100, soakSeconds: 3600, gates: [] }];

async function channelOf(w: World): Promise<ChannelView> {
  return (await w.call<{ channel: ChannelView }>('GET', CHANNEL_URL)).body.channel;
}

async function verifiedIndex(w: World, envelope: DsseEnvelope) {
  const keys = await w.call<{ items: { keyId: string; publicKeyPem: string; use: string }[] }>(
    'GET',
    '/server/keys',
  );
  const trusted = keys.body.items.map((k) => parsePublicKey(k.publicKeyPem));
  return verifyChannelIndex(envelope, trusted, { now: w.clock.now(), env: ENV, channel: CHANNEL });
}

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'release API', () => {
    let w: World;

    beforeEach(async () => {
      w = await createWorld(dialect);
      await createChannel(w);
    });

    afterEach(async () => {
      await w.close();
    });

    describe('environments, channels and plans', () => {
      it('creates a channel with defaults and a signed index, and records every change', async () => {
        const channel = await channelOf(w);
        expect(channel).toMatchObject({
          env: ENV,
          name: CHANNEL,
          plan: 'canary',
          floor: null,
          constraints: {},
          cohorts: [],
          indexTtlSeconds: 86_400,
          base: null,
          lkg: null,
          pins: [],
          revoked: [],
          activeRelease: null,
          indexVersion: 1,
        });
        const changed = await w.call('PUT', CHANNEL_URL, {
          floor: 2,
          cohorts: [{ name: 'eu', selector: { matchLabels: { region: 'eu' } } }],
          reason: 'no going back below 2',
        });
        expect(changed).toMatchObject({
          status: 200,
          body: { channel: { floor: 2, indexVersion: 2 } },
        });
        const unchanged = await w.call('PUT', CHANNEL_URL, { floor: 2 });
        expect(unchanged.body).toMatchObject({ channel: { indexVersion: 2 } });
        const log = (await w.call<{ items: DecisionRecord[] }>('GET', '/decisions')).body.items;
        expect(log.map((r) => [r.kind, r.rule, r.reason])).toEqual([
          ['channel', 'channel.created', null],
          ['channel', 'channel.updated', 'no going back below 2'],
        ]);
        expect(log[1]?.inputs).toEqual({
          changes: {
            floor: { from: null, to: 2 },
            cohorts: {
              from: [],
              to: [{ name: 'eu', selector: { matchLabels: { region: 'eu' } } }],
            },
          },
          // the digest of the core call it was decided by, stored for replay
          context: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) as unknown,
        });
        const index = await w.call<DsseEnvelope>('GET', `/channels/${ENV}/${CHANNEL}/index`);
        expect((await verifiedIndex(w, index.body)).floor).toBe(2);

        const environment = await w.call('GET', `/environments/${ENV}`);
        expect(environment).toMatchObject({
          status: 200,
          body: { environment: { name: ENV }, channels: [{ name: CHANNEL }], freezeWindows: [] },
        });
      });

      it('answers with the codes for unknown environments, channels, plans and bad cohorts', async () => {
        expect(await w.call('PUT', '/environments/nope/channels/x', {})).toMatchObject({
          status: 404,
          body: { code: 'ENVIRONMENT_NOT_FOUND' },
        });
        expect(await w.call('GET', `/environments/${ENV}/channels/nope`)).toMatchObject({
          status: 404,
          body: { code: 'CHANNEL_NOT_FOUND' },
        });
        expect(await w.call('PUT', CHANNEL_URL, { plan: 'missing' })).toMatchObject({
          status: 404,
          body: { code: 'PLAN_NOT_FOUND' },
        });
        expect(
          await w.call('PUT', CHANNEL_URL, {
            cohorts: [{ name: 'eu' }, { name: 'eu', percent: 5 }],
          }),
        ).toMatchObject({ status: 400, body: { code: 'COHORT_INVALID' } });
        expect(await w.call('PUT', CHANNEL_URL, { surprise: true })).toMatchObject({
          status: 400,
          body: { code: 'VALIDATION_FAILED' },
        });
      });

      it('lists the built-in plans first, stores user plans, and refuses bad or built-in ones', async () => {
        await putPlan(w, 'slow', SLOW);
        const plans = await w.call<{ items: { name: string; builtin: boolean }[] }>(
          'GET',
          '/plans',
        );
        expect(plans.body.items.map((p) => [p.name, p.builtin])).toEqual([
          ['canary', true],
          ['all-at-once', true],
          ['slow', false],
        ]);
        expect(await w.call('GET', '/plans/canary')).toMatchObject({
          status: 200,
          body: {
            plan: { name: 'canary', stages: [{ percent: 10 }, { percent: 50 }, { percent: 100 }] },
          },
        });
        expect(await w.call('PUT', '/plans/canary', { stages: SLOW })).toMatchObject({
          status: 400,
          body: { code: 'PLAN_INVALID' },
        });
        const bad = await w.call('PUT', '/plans/bad', {
          stages: [{ name: 'half', percent: 50, soakSeconds: 0, gates: [] }],
        });
        expect(bad).toMatchObject({ status: 400, body: { code: 'PLAN_INVALID' } });
        expect(bad.body['details']).toMatchObject({
          problems: [expect.stringContaining('last stage must reach 100%')],
        });
        expect(await w.call('GET', '/plans/bad')).toMatchObject({
          status: 404,
          body: { code: 'PLAN_NOT_FOUND' },
        });
      });
    });

    describe('releases', () => {
      beforeEach(async () => {
        await putPlan(w, 'slow', SLOW);
      });

      it('refuses a second active release in a channel, and an unknown pack', async () => {
        await createRelease(w, { pack: w.packs.v2.digest, plan: 'slow' });
        const second = await w.call('POST', '/releases', {
          env: ENV,
          channel: CHANNEL,
          pack: 'kb@3.0.0',
          reason: 'again',
        });
        expect(second).toMatchObject({ status: 409, body: { code: 'RELEASE_CONFLICT' } });
        const unknown = await w.call('POST', '/releases', {
          env: ENV,
          channel: CHANNEL,
          pack: 'kb@9.0.0',
          reason: 'x',
        });
        expect(unknown).toMatchObject({ status: 404, body: { code: 'PACK_NOT_FOUND' } });
      });

      it('answers a repeated Idempotency-Key with the first answer and creates nothing twice', async () => {
        const body = {
          env: ENV,
          channel: CHANNEL,
          pack: w.packs.v2.digest,
          plan: 'slow',
          reason: 'r',
        };
        const headers = { 'idempotency-key': 'create-v2' };
        const first = await w.call<{ release: ReleaseView }>('POST', '/releases', body, headers);
        const again = await w.call<{ release: ReleaseView }>('POST', '/releases', body, headers);
        expect(first.status).toBe(201);
        expect(again).toEqual(expect.objectContaining({ status: 201, body: first.body }));
        const listed = await w.call<{ items: ReleaseView[] }>('GET', `/releases?env=${ENV}`);
        expect(listed.body.items).toHaveLength(1);
        const other = await w.call('POST', '/releases', { ...body, reason: 'other' }, headers);
        expect(other).toMatchObject({ status: 409, body: { code: 'CONFLICT' } });

        const id = first.body.release.id;
        await w.t.services.controller.tick();
        const pause = { 'idempotency-key': 'pause-1' };
        const paused = await w.call('POST', `/releases/${id}/pause`, { reason: 'look' }, pause);
        const pausedAgain = await w.call(
          'POST',
          `/releases/${id}/pause`,
          { reason: 'look' },
          pause,
        );
        expect(paused.status).toBe(200);
        expect(pausedAgain.body).toEqual(paused.body);
        const pauses = (await timelineOf(w, id)).filter((r) => r.rule === 'command.pause');
        expect(pauses).toHaveLength(1);
        expect(pauses[0]).toMatchObject({ actor: 'admin', reason: 'look', holder: null });
        const unkeyed = await w.call('POST', `/releases/${id}/pause`, { reason: 'look' });
        expect(unkeyed).toMatchObject({ status: 409, body: { code: 'RELEASE_STATE_INVALID' } });
      });

      it('rolls back on command to the LKG, and refuses when there is none', async () => {
        const first = await createRelease(w, { pack: w.packs.v1.digest, plan: 'slow' });
        await w.t.services.controller.tick();
        expect(
          await w.call('POST', `/releases/${first.id}/rollback`, { reason: 'bad' }),
        ).toMatchObject({
          status: 409,
          body: { code: 'ROLLBACK_TARGET_MISSING' },
        });
        await w.call('POST', `/releases/${first.id}/abort`, { reason: 'restart' });
        await baseline(w, w.packs.v1);
        const second = await createRelease(w, { pack: w.packs.v2.digest, plan: 'slow' });
        await w.t.services.controller.tick();
        const versionBefore = (await channelOf(w)).indexVersion;
        const rolled = await w.call<{ release: ReleaseView }>(
          'POST',
          `/releases/${second.id}/rollback`,
          { reason: 'customer complaints' },
          await w.as('oncall'),
        );
        expect(rolled.body.release).toMatchObject({
          state: 'rolled_back',
          outcome: { rollbackTo: w.packs.v1.digest },
        });
        const channel = await channelOf(w);
        expect(channel).toMatchObject({ base: w.packs.v1.digest, activeRelease: null });
        expect(channel.indexVersion).toBe(versionBefore + 1);
        expect((await timelineOf(w, second.id)).at(-1)).toMatchObject({
          rule: 'command.rollback',
          actor: 'oncall',
          reason: 'customer complaints',
        });
      });

      it('authorizes a rollback target for agents, but never one below the channel floor', async () => {
        await baseline(w, w.packs.v1);
        await createRelease(w, { pack: w.packs.v2.digest, plan: 'instant' });
        await w.t.services.controller.tick();
        expect((await channelOf(w)).lkg).toBe(w.packs.v2.digest);
        await w.call('PUT', CHANNEL_URL, { floor: 2 });
        const second = await createRelease(w, { pack: w.packs.v3.digest, plan: 'slow' });
        await w.t.services.controller.tick();
        await w.call('POST', `/releases/${second.id}/rollback`, { reason: 'bad' });
        expect((await channelOf(w)).rollbackAuthorizations.map((a) => a.pack)).toEqual([
          w.packs.v2.digest,
        ]);
        // With the LKG (v1) below the floor (2), the rollback grants nothing: an operator must.
        await w.t.stores.transaction(async (tx) => {
          const channel = await tx.channels.lock(ENV, CHANNEL);
          if (channel === null) throw new Error('missing');
          await tx.channels.save({ ...channel, lkg: w.packs.v1.digest });
        });
        const third = await createRelease(w, { pack: w.packs.v4.digest, plan: 'slow' });
        await w.t.services.controller.tick();
        // Rolling back to v1 would leave every target without a pack the channel allows: the
        // command is refused before anything changes, and says what would allow it.
        const refused = await w.call<{ code: string; message: string }>(
          'POST',
          `/releases/${third.id}/rollback`,
          { reason: 'bad too' },
        );
        expect(refused.status).toBe(409);
        expect(refused.body.code).toBe('ROLLBACK_TARGET_NOT_ALLOWED');
        expect(refused.body.message).toMatch(/below the channel floor 2.*rollback-auth add/);
        expect((await channelOf(w)).rollbackAuthorizations.map((a) => a.pack)).toEqual([
          w.packs.v2.digest,
        ]);
        expect(
          (await w.call<{ release: ReleaseView }>('GET', `/releases/${third.id}`)).body.release
            .state,
        ).toBe('rolling');
        // An operator's authorization makes v1 a valid target; the rollback then lands on it.
        await w.call('POST', `${CHANNEL_URL}/rollback-authorizations`, {
          pack: w.packs.v1.digest,
          reason: 'incident 7: v1 is known good',
          expiresIn: '1h',
        });
        const rolled = await w.call<{ release: ReleaseView }>(
          'POST',
          `/releases/${third.id}/rollback`,
          { reason: 'bad too' },
        );
        expect(rolled.body.release.outcome?.rollbackTo).toBe(w.packs.v1.digest);
      });

      it('commits a decision made on a stale release version not at all: no save, no record', async () => {
        const created = await createRelease(w, { pack: w.packs.v2.digest, plan: 'slow' });
        const key = await w.t.services.serverKeys.indexKey();
        const now = w.clock.now();
        // Two controllers that both read version 0 and decided the same step.
        const decideOnce = () =>
          w.t.stores.transaction(async (tx) => {
            const channel = await tx.channels.lock(ENV, CHANNEL);
            const stored = await tx.releases.find(created.id);
            if (channel === null || stored === null) throw new Error('missing');
            const context = await loadReleaseContext(tx, w.t.blobs, stored.release, channel, now);
            return { before: stored.release, context, result: decide(context, now) };
          });
        const [a, b] = [await decideOnce(), await decideOnce()];
        expect(b.before.version).toBe(a.before.version);
        const commit = (d: typeof a) =>
          w.t.stores.transaction(async (tx) => {
            const channel = await tx.channels.lock(ENV, CHANNEL);
            if (channel === null) throw new Error('missing');
            return commitReleaseChange(tx, d.before, d.result, {
              channel,
              now,
              holder: 'h',
              key,
              context: d.context,
            });
          });
        const records = (await commit(a))?.records ?? [];
        expect(records).toHaveLength(3);
        // Each record holds the core draft it came from, bit for bit (replayable).
        const replayed = records.map((r) => draftOf(r)).map((d) => d && decisionDigest(d));
        expect(replayed).toEqual(a.result.decisions.map((d) => decisionDigest(d)));
        // the stale one is refused and its transaction rolled back whole
        await expect(commit(b)).rejects.toMatchObject({ code: 'VERSION_CONFLICT' });
        expect(await timelineOf(w, created.id)).toHaveLength(4);
        expect((await w.t.stores.releases.find(created.id))?.release).toEqual(a.result.release);
        expect((await channelOf(w)).indexVersion).toBe(2);
      });

      it('does not let a second controller decide while the first holds the lease', async () => {
        const created = await createRelease(w, { pack: w.packs.v2.digest, plan: 'slow' });
        const other = createServices(w.t.config, w.t.stores, w.t.blobs, w.clock.clock, {
          holder: 'other-controller',
        });
        try {
          expect((await w.t.services.controller.tick()).leader).toBe(true);
          w.clock.advance(1);
          expect(await other.controller.tick()).toMatchObject({ leader: false, decisions: 0 });
          const holders = new Set((await timelineOf(w, created.id)).slice(1).map((r) => r.holder));
          expect(holders).toEqual(new Set([w.t.services.controller.holder]));
          await w.t.services.controller.stop();
          w.clock.advance(1);
          expect((await other.controller.tick()).leader).toBe(true);
          await w.call('POST', `/releases/${created.id}/pause`, { reason: 'p' });
          await w.call('POST', `/releases/${created.id}/resume`, { reason: 'r' });
          w.clock.advance(3600);
          await other.controller.tick();
          const timeline = await timelineOf(w, created.id);
          expect(timeline.at(-1)).toMatchObject({ to: 'completed', holder: 'other-controller' });
        } finally {
          await other.close();
        }
      });
    });

    describe('the channel index, desired packs and events', () => {
      it('serves the signed index with an ETag, 304 when unchanged, verifiable with GET /server/keys', async () => {
        await baseline(w, w.packs.v1);
        const url = `/channels/${ENV}/${CHANNEL}/index`;
        const first = await w.call<DsseEnvelope>('GET', url);
        expect(first.status).toBe(200);
        const payload = await verifiedIndex(w, first.body);
        expect(first.headers['etag']).toBe(`"${payload.version}"`);
        expect(payload).toMatchObject({
          base: w.packs.v1.digest,
          rollout: null,
          packs: { [w.packs.v1.digest]: { name: 'kb', version: '1.0.0', sequence: 1 } },
        });
        const unchanged = await w.call('GET', url, undefined, {
          'if-none-match': String(first.headers['etag']),
        });
        expect(unchanged.status).toBe(304);
        await w.call('PUT', `${CHANNEL_URL}/pins/_`, {
          pack: w.packs.v1.digest,
          reason: 'hold',
          expiresIn: 600,
        });
        const changed = await w.call<DsseEnvelope>('GET', url, undefined, {
          'if-none-match': String(first.headers['etag']),
        });
        expect(changed.status).toBe(200);
        expect((await verifiedIndex(w, changed.body)).version).toBe(payload.version + 1);
      });

      it('re-signs an index once less than half its TTL is left', async () => {
        await w.call('PUT', CHANNEL_URL, { indexTtlSeconds: 600 });
        const before = (await channelOf(w)).indexVersion;
        w.clock.advance(299);
        await w.t.services.controller.tick();
        expect((await channelOf(w)).indexVersion).toBe(before);
        w.clock.advance(2);
        await w.t.services.controller.tick();
        expect((await channelOf(w)).indexVersion).toBe(before + 1);
      });

      it('answers the desired pack with an ETag that changes only when the answer does', async () => {
        await baseline(w, w.packs.v1);
        const fleet = new Fleet(w, simulatedTargets(1));
        await fleet.register();
        const url = '/targets/t-000/desired';
        const first = await w.call('GET', url);
        expect(first.body).toMatchObject({ pack: w.packs.v1.digest, reason: 'base' });
        const etag = String(first.headers['etag']);
        await w.call('PUT', CHANNEL_URL, { floor: 0 });
        expect((await w.call('GET', url, undefined, { 'if-none-match': etag })).status).toBe(304);
        await w.call('PUT', `${CHANNEL_URL}/pins/_`, {
          pack: w.packs.v2.digest,
          reason: 'try',
          expiresIn: '10m',
        });
        const pinned = await w.call('GET', url, undefined, { 'if-none-match': etag });
        expect(pinned).toMatchObject({
          status: 200,
          body: { pack: w.packs.v2.digest, reason: 'pin' },
        });
        // The same index answers by the clock: the pin holds until it expires, not after.
        w.clock.advance(599);
        const held = await w.call('GET', url, undefined, {
          'if-none-match': String(pinned.headers['etag']),
        });
        expect(held.status).toBe(304);
        w.clock.advance(1);
        expect(await w.call('GET', url)).toMatchObject({
          status: 200,
          body: { pack: w.packs.v1.digest, reason: 'base' },
        });
        expect(await w.call('GET', '/targets/nobody/desired')).toMatchObject({
          status: 404,
          body: { code: 'TARGET_NOT_FOUND' },
        });
      });

      it('streams index versions over SSE, including changes another replica makes', async () => {
        const address = await w.t.app.listen({ host: '127.0.0.1', port: 0 });
        const abort = new AbortController();
        const response = await fetch(`${address}/api/v1/channels/${ENV}/${CHANNEL}/events`, {
          headers: w.t.auth,
          signal: abort.signal,
        });
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
        const reader = response.body?.getReader();
        if (reader === undefined) throw new Error('no body');
        let text = '';
        const until = async (pattern: RegExp): Promise<void> => {
          while (!pattern.test(text)) {
            const { value, done } = (await reader.read()) as { value?: Uint8Array; done: boolean };
            if (done) throw new Error(`stream ended before ${pattern}: ${text}`);
            text += Buffer.from(value ?? new Uint8Array()).toString('utf8');
          }
        };
        await until(/event: index\ndata: \{"version":1\}\n\n/);
        await w.call('PUT', CHANNEL_URL, { floor: 1 });
        await until(/data: \{"version":2\}/);
        // Another replica (its own services and event hub) changes the index.
        const replica = createServices(w.t.config, w.t.stores, w.t.blobs, w.clock.clock);
        try {
          await replica.channels.put(ENV, CHANNEL, { floor: 0 }, 'admin');
          await until(/data: \{"version":3\}/);
        } finally {
          await replica.close();
        }
        expect(w.t.services.events.size()).toBe(1);
        abort.abort();
        await reader.cancel().catch(() => undefined);
      }, 15_000);

      it('ends open streams when the server closes', async () => {
        const world = await createWorld(dialect);
        let closed = false;
        try {
          await createChannel(world);
          const address = await world.t.app.listen({ host: '127.0.0.1', port: 0 });
          const response = await fetch(`${address}/api/v1/channels/${ENV}/${CHANNEL}/events`, {
            headers: world.t.auth,
          });
          const reader = response.body?.getReader();
          if (reader === undefined) throw new Error('no body');
          await reader.read();
          expect(world.t.services.events.size()).toBe(1);
          await world.close();
          closed = true;
          let done = false;
          while (!done) done = (await reader.read()).done === true;
          expect(done).toBe(true);
        } finally {
          if (!closed) await world.close();
        }
      }, 15_000);

      it('sends heartbeat comments on an idle stream', async () => {
        const world = await createWorld(dialect, { sseHeartbeatMs: 20 });
        try {
          await createChannel(world);
          const address = await world.t.app.listen({ host: '127.0.0.1', port: 0 });
          const response = await fetch(`${address}/api/v1/channels/${ENV}/${CHANNEL}/events`, {
            headers: world.t.auth,
          });
          const reader = response.body?.getReader();
          let text = '';
          while (reader !== undefined && !text.includes(': heartbeat\n\n')) {
            const { value, done } = (await reader.read()) as { value?: Uint8Array; done: boolean };
            if (done) break;
            text += Buffer.from(value ?? new Uint8Array()).toString('utf8');
          }
          expect(text).toContain(': heartbeat\n\n');
          await reader?.cancel().catch(() => undefined);
        } finally {
          await world.close();
        }
      }, 15_000);
    });

    describe('targets', () => {
      it('prunes reports older than 24 hours when the controller ticks', async () => {
        await w.call('PUT', '/targets/t-1', { env: ENV, channel: CHANNEL, labels: {} });
        await w.call('POST', '/targets/t-1/reports', { activePack: null });
        w.clock.advance(3600);
        await w.call('POST', '/targets/t-1/reports', { activePack: null });
        const all = async () =>
          w.t.stores.targets.listReports(
            ENV,
            CHANNEL,
            '2000-01-01T00:00:00.000Z',
            '2100-01-01T00:00:00.000Z',
          );
        expect(await all()).toHaveLength(2);
        w.clock.advance(23 * 3600 + 1);
        await w.t.services.controller.tick();
        expect((await all()).map((r) => r.at)).toEqual([
          new Date(w.clock.now().getTime() - (23 * 3600 + 1) * 1000).toISOString(),
        ]);
      });

      it('registers idempotently, records a move to another channel, and refuses bad labels and reports', async () => {
        await w.call('PUT', `/environments/${ENV}/channels/canary`, {});
        const body = { env: ENV, channel: CHANNEL, labels: { region: 'eu' } };
        expect((await w.call('PUT', '/targets/t-1', body)).status).toBe(201);
        expect((await w.call('PUT', '/targets/t-1', body)).status).toBe(200);
        const moved = await w.call('PUT', '/targets/t-1', { ...body, channel: 'canary' });
        expect(moved).toMatchObject({ status: 200, body: { target: { channel: 'canary' } } });
        const log = (await w.call<{ items: DecisionRecord[] }>('GET', '/decisions')).body.items;
        expect(log.at(-1)).toMatchObject({
          kind: 'target',
          rule: 'target.moved',
          inputs: { target: 't-1', from: { channel: CHANNEL }, to: { channel: 'canary' } },
        });
        expect(
          await w.call('PUT', '/targets/t-2', { ...body, labels: { 'bad key!': 'x' } }),
        ).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
        expect(
          await w.call('POST', '/targets/t-1/reports', { activePack: 'sha256:nothex' }),
        ).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
        expect(await w.call('POST', '/targets/ghost/reports', { activePack: null })).toMatchObject({
          status: 404,
          body: { code: 'TARGET_NOT_FOUND' },
        });
        const reported = await w.call('POST', '/targets/t-1/reports', {
          activePack: w.packs.v1.digest,
          health: { requests: 10, errors: 1 },
        });
        expect(reported).toMatchObject({ status: 202, body: { accepted: true } });
        expect(await w.call('GET', '/targets/t-1')).toMatchObject({
          body: {
            target: {
              activePack: w.packs.v1.digest,
              lastReportAt: w.clock.now().toISOString(),
            },
          },
        });
      });
    });

    it('keeps one hash chain over every record, which verifies end to end', async () => {
      await baseline(w, w.packs.v1);
      await w.call('PUT', `${CHANNEL_URL}/pins/_`, {
        pack: w.packs.v1.digest,
        reason: 'a',
        expiresIn: 60,
      });
      await w.call('POST', `/packs/${w.packs.v3.digest}/revoke`, { reason: 'bad' });
      await w.call('POST', `/environments/${ENV}/freeze-windows`, {
        reason: 'weekend',
        kind: 'weekly',
        days: ['sat', 'sun'],
        start: '00:00',
        durationMinutes: 1440,
      });
      w.clock.advance(61);
      await w.t.services.controller.tick();
      const log = (await w.call<{ items: DecisionRecord[] }>('GET', '/decisions?limit=1000')).body
        .items;
      expect(new Set(log.map((r) => r.kind))).toEqual(
        new Set([
          'channel',
          'command',
          'schedule',
          'verification',
          'stage',
          'completion',
          'pin',
          'revocation',
          'freeze',
          'release.sealed',
        ]),
      );
      expect(verifyDecisionChain(log)).toMatchObject({ ok: true, checked: log.length });
      const page = (await w.call<{ items: DecisionRecord[] }>('GET', '/decisions?after=3&limit=2'))
        .body.items;
      expect(page.map((r) => r.seq)).toEqual([4, 5]);
      expect(verifyDecisionChain(page, log[2]?.digest ?? null).ok).toBe(true);
    });
  });
}
