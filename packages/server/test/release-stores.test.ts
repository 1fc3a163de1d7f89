import { BUILTIN_PLANS, newRelease } from '@lockgate/core';
import type { ReleaseState, TargetAttempt } from '@lockgate/core';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { StoredChannel } from '../src/features/channels/channel-store.ts';
import { createSqliteLease } from '../src/features/controller/controller-lease.ts';
import { recordDecisions } from '../src/features/decisions/commit-road.ts';
import { verifyDecisionChain } from '../src/features/decisions/decision-log.ts';
import type { DecisionRecordDraft } from '../src/features/decisions/decision-log.ts';
import { createServerKeyService } from '../src/features/server-keys/server-key-service.ts';
import { createStores } from '../src/stores.ts';
import type { Stores } from '../src/stores.ts';
import { DIALECTS, describeDialect } from './helpers/test-database.ts';
import type { TestDatabase } from './helpers/test-database.ts';

const AT = '2026-01-01T00:00:00.000Z';
const digest = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;

function channel(overrides: Partial<StoredChannel> = {}): StoredChannel {
  return {
    env: 'prod',
    name: 'stable',
    plan: 'canary',
    floor: null,
    constraints: { runtime: '>=2 <3' },
    cohorts: [{ name: 'eu', selector: { matchLabels: { region: 'eu' } } }],
    indexTtlSeconds: 3600,
    base: null,
    lkg: null,
    rollout: null,
    activeRelease: null,
    indexVersion: 1,
    indexEnvelope: { payloadType: 'x', payload: '', signatures: [] },
    indexExpiresAt: '2026-01-01T01:00:00.000Z',
    createdAt: AT,
    createdBy: 'admin',
    updatedAt: AT,
    updatedBy: 'admin',
    ...overrides,
  };
}

function release(id: string, overrides: Partial<ReleaseState> = {}): ReleaseState {
  return {
    ...newRelease({
      id,
      env: 'prod',
      channel: 'stable',
      pack: digest(2),
      packSequence: 2,
      basePack: null,
      plan: structuredClone(BUILTIN_PLANS.canary),
      requestedBy: 'admin',
      reason: 'ship',
    }),
    ...overrides,
  };
}

function draft(n: number, overrides: Partial<DecisionRecordDraft> = {}): DecisionRecordDraft {
  return {
    release: 'rel_1',
    env: 'prod',
    channel: 'stable',
    at: AT,
    kind: 'stage',
    rule: `rule.${n}`,
    actor: 'controller',
    reason: null,
    from: 'rolling',
    to: 'rolling',
    stageIndex: 0,
    inputs: { n, gates: [{ measured: 0.2, threshold: 0.05 }] },
    verdict: 'advanced',
    holder: 'h1',
    ...overrides,
  };
}

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'release stores', () => {
    let testDatabase: TestDatabase;
    let stores: Stores;

    beforeEach(async () => {
      testDatabase = await dialect.create();
      stores = createStores(testDatabase.database.db);
      await stores.environments.insert({
        name: 'prod',
        description: '',
        createdAt: AT,
        createdBy: 'admin',
      });
    });

    afterEach(async () => {
      await testDatabase.dispose();
    });

    it('stores environments and their freeze windows, oldest window first', async () => {
      expect(
        await stores.environments.insert({
          name: 'prod',
          description: 'again',
          createdAt: AT,
          createdBy: 'x',
        }),
      ).toBe(false);
      await stores.environments.updateDescription('prod', 'production');
      expect(await stores.environments.find('prod')).toMatchObject({ description: 'production' });
      const once = {
        env: 'prod',
        window: {
          id: 'f1',
          reason: 'launch',
          kind: 'once' as const,
          start: AT,
          end: '2026-01-02T00:00:00.000Z',
        },
        createdAt: AT,
        createdBy: 'admin',
      };
      const weekly = {
        env: 'prod',
        window: {
          id: 'f2',
          reason: 'weekend',
          kind: 'weekly' as const,
          days: ['sat' as const],
          start: '00:00',
          durationMinutes: 1440,
        },
        createdAt: '2026-01-01T00:00:01.000Z',
        createdBy: 'admin',
      };
      await stores.environments.insertFreezeWindow(weekly);
      await stores.environments.insertFreezeWindow(once);
      expect(await stores.environments.listFreezeWindows('prod')).toEqual([once, weekly]);
      expect(await stores.environments.deleteFreezeWindow('prod', 'f1')).toBe(true);
      expect(await stores.environments.deleteFreezeWindow('prod', 'f1')).toBe(false);
      expect(await stores.environments.findFreezeWindow('prod', 'f2')).toEqual(weekly);
    });

    it('stores a channel, locks it, and saves the index only over the expected version', async () => {
      expect(await stores.channels.insert(channel())).toBe(true);
      expect(await stores.channels.insert(channel())).toBe(false);
      expect(await stores.channels.find('prod', 'stable')).toEqual(channel());
      const locked = await stores.transaction((tx) => tx.channels.lock('prod', 'stable'));
      expect(locked).toEqual(channel());
      expect(await stores.channels.lock('prod', 'nope')).toBeNull();
      const index = {
        version: 2,
        envelope: { payloadType: 'y', payload: 'e30=', signatures: [] },
        expiresAt: '2026-01-01T02:00:00.000Z',
      };
      expect(await stores.channels.setIndex(channel(), index, 5)).toBe(false);
      expect(await stores.channels.setIndex(channel(), index, 1)).toBe(true);
      expect(await stores.channels.find('prod', 'stable')).toMatchObject({
        indexVersion: 2,
        indexEnvelope: index.envelope,
      });
      expect(
        await stores.channels.indexVersions([
          { env: 'prod', name: 'stable' },
          { env: 'prod', name: 'other' },
        ]),
      ).toEqual(new Map([['prod/stable', 2]]));
      await stores.channels.save({ ...channel(), base: digest(1), lkg: digest(1), floor: 3 });
      expect(await stores.channels.find('prod', 'stable')).toMatchObject({
        base: digest(1),
        lkg: digest(1),
        floor: 3,
        indexVersion: 2,
      });
    });

    it('lets only one release claim a channel', async () => {
      await stores.channels.insert(channel());
      const key = { env: 'prod', name: 'stable' };
      expect(await stores.channels.claimActiveRelease(key, 'rel_a')).toBe(true);
      expect(await stores.channels.claimActiveRelease(key, 'rel_b')).toBe(false);
      expect((await stores.channels.find('prod', 'stable'))?.activeRelease).toBe('rel_a');
    });

    it('replaces a pin of the same scope, lists expired pins and deletes them', async () => {
      await stores.channels.insert(channel());
      const pin = {
        env: 'prod',
        channel: 'stable',
        cohort: '_',
        selector: null,
        pack: digest(1),
        reason: 'hold',
        actor: 'admin',
        createdAt: AT,
        expiresAt: '2026-01-01T01:00:00.000Z',
      };
      await stores.channels.upsertPin(pin);
      await stores.channels.upsertPin({ ...pin, pack: digest(2) });
      await stores.channels.upsertPin({
        ...pin,
        cohort: 'eu',
        selector: { matchLabels: { region: 'eu' } },
        expiresAt: '2026-01-01T03:00:00.000Z',
      });
      expect((await stores.channels.listPins('prod', 'stable')).map((p) => p.cohort)).toEqual([
        '_',
        'eu',
      ]);
      expect(await stores.channels.findPin('prod', 'stable', '_')).toMatchObject({
        pack: digest(2),
      });
      expect(await stores.channels.listExpiredPins('2026-01-01T00:59:59.999Z')).toEqual([]);
      expect(
        (await stores.channels.listExpiredPins('2026-01-01T01:00:00.000Z')).map((p) => p.cohort),
      ).toEqual(['_']);
      expect(await stores.channels.deletePin('prod', 'stable', '_')).toMatchObject({
        pack: digest(2),
      });
      expect(await stores.channels.deletePin('prod', 'stable', '_')).toBeNull();
    });

    it('stores rollback authorizations and revocations', async () => {
      await stores.channels.insert(channel());
      const authorization = {
        id: 'rba_1',
        env: 'prod',
        channel: 'stable',
        pack: digest(1),
        reason: 'incident',
        actor: 'admin',
        createdAt: AT,
        expiresAt: '2026-01-02T00:00:00.000Z',
      };
      await stores.channels.insertRollbackAuthorization(authorization);
      expect(await stores.channels.listRollbackAuthorizations('prod', 'stable')).toEqual([
        authorization,
      ]);
      const revocation = { pack: digest(3), reason: 'bad', actor: 'admin', revokedAt: AT };
      expect(await stores.revocations.insert(revocation)).toBe(true);
      expect(await stores.revocations.insert({ ...revocation, reason: 'again' })).toBe(false);
      expect(await stores.revocations.digests()).toEqual([digest(3)]);
      expect(await stores.revocations.find(digest(3))).toEqual(revocation);
    });

    it('inserts a plan, then replaces its stages keeping when it was created', async () => {
      const plan = structuredClone(BUILTIN_PLANS['all-at-once']);
      const stored = {
        plan: { ...plan, name: 'mine' },
        createdAt: AT,
        createdBy: 'alice',
        updatedAt: AT,
        updatedBy: 'alice',
      };
      expect(await stores.plans.upsert(stored)).toBe(true);
      const later = '2026-01-02T00:00:00.000Z';
      expect(
        await stores.plans.upsert({
          ...stored,
          updatedAt: later,
          updatedBy: 'bob',
          createdBy: 'bob',
        }),
      ).toBe(false);
      expect(await stores.plans.find('mine')).toEqual({
        ...stored,
        updatedAt: later,
        updatedBy: 'bob',
      });
    });

    it('records reports, updates the target, lists a window and prunes old reports', async () => {
      await stores.channels.insert(channel());
      const target = {
        id: 't-1',
        env: 'prod',
        channel: 'stable',
        labels: { region: 'eu' },
        capabilities: {},
        activePack: null,
        lastAttempt: null,
        lastReportAt: null,
        registeredAt: AT,
        updatedAt: AT,
      };
      expect(await stores.targets.upsert(target)).toBe(true);
      expect(await stores.targets.upsert({ ...target, labels: { region: 'us' } })).toBe(false);
      const attempt = { kind: 'activate' as const, pack: digest(2), result: 'ok' as const, at: AT };
      for (const [i, at] of ['00:00:10', '00:05:00', '00:10:00'].entries()) {
        await stores.targets.recordReport({
          id: `r${i}`,
          targetId: 't-1',
          env: 'prod',
          channel: 'stable',
          at: `2026-01-01T${at}.000Z`,
          activePack: digest(2),
          lastAttempt: attempt,
          health: { requests: 100, errors: i },
        });
      }
      expect(await stores.targets.find('t-1')).toMatchObject({
        labels: { region: 'us' },
        activePack: digest(2),
        lastAttempt: attempt,
        lastReportAt: '2026-01-01T00:10:00.000Z',
        registeredAt: AT,
      });
      const window = await stores.targets.listReports(
        'prod',
        'stable',
        '2026-01-01T00:05:00.000Z',
        '2026-01-01T00:10:00.000Z',
      );
      expect(window.map((r) => r.health?.errors)).toEqual([1, 2]);
      expect(window[0]).toEqual({
        targetId: 't-1',
        at: '2026-01-01T00:05:00.000Z',
        activePack: digest(2),
        lastAttempt: attempt,
        health: { requests: 100, errors: 1 },
      });
      expect(await stores.targets.listRefs('prod', 'stable')).toEqual([
        { id: 't-1', labels: { region: 'us' } },
      ]);
      expect(await stores.targets.pruneReports('2026-01-01T00:05:00.000Z')).toBe(1);
      expect(
        await stores.targets.listReports('prod', 'stable', AT, '2026-01-01T01:00:00.000Z'),
      ).toHaveLength(2);
    });

    it('counts targets by channel and active pack in one grouped query, with the silent ones', async () => {
      const target = (id: string, env: string, channelName: string) => ({
        id,
        env,
        channel: channelName,
        labels: {},
        capabilities: {},
        activePack: null,
        lastAttempt: null,
        lastReportAt: null,
        registeredAt: AT,
        updatedAt: AT,
      });
      const report = async (id: string, at: string, pack: string | null) =>
        stores.targets.recordReport({
          id: `r-${id}-${at}`,
          targetId: id,
          env: 'prod',
          channel: 'stable',
          at,
          activePack: pack,
        });
      await stores.channels.insert(channel());
      await stores.channels.insert(channel({ name: 'canary' }));
      for (const id of ['a', 'b', 'c', 'd'])
        await stores.targets.upsert(target(id, 'prod', 'stable'));
      await stores.targets.upsert(target('e', 'prod', 'canary'));
      await report('a', '2026-01-01T00:10:00.000Z', digest(2));
      await report('b', '2026-01-01T00:20:00.000Z', digest(2));
      await report('c', '2026-01-01T00:01:00.000Z', digest(3));
      // d and e never reported: silent since they registered at AT
      const counts = await stores.targets.activePackCounts('2026-01-01T00:15:00.000Z');
      const byKey = (c: { env: string; channel: string; activePack: string | null }) =>
        `${c.env}/${c.channel}/${c.activePack}`;
      expect([...counts].sort((x, y) => byKey(x).localeCompare(byKey(y)))).toEqual([
        {
          env: 'prod',
          channel: 'canary',
          activePack: null,
          targets: 1,
          silent: 1,
          lastReportAt: null,
        },
        {
          env: 'prod',
          channel: 'stable',
          activePack: null,
          targets: 1,
          silent: 1,
          lastReportAt: null,
        },
        {
          env: 'prod',
          channel: 'stable',
          activePack: digest(2),
          targets: 2,
          silent: 1,
          lastReportAt: '2026-01-01T00:20:00.000Z',
        },
        {
          env: 'prod',
          channel: 'stable',
          activePack: digest(3),
          targets: 1,
          silent: 1,
          lastReportAt: '2026-01-01T00:01:00.000Z',
        },
      ]);
      expect((await stores.targets.activePackCounts(AT)).every((c) => c.silent === 0)).toBe(true);
    });

    it("summarises a channel for a release's status: targets, those on the pack, the failed attempts with it", async () => {
      await stores.channels.insert(channel());
      await stores.channels.insert(channel({ name: 'canary' }));
      const cases: [string, string, string | null, TargetAttempt | null][] = [
        ['a', 'stable', digest(2), null],
        ['b', 'stable', digest(1), failed(digest(2), 'PACK_SIGNATURE_INVALID')],
        ['c', 'stable', digest(1), failed(digest(3), 'PACK_SIGNATURE_INVALID')],
        // a code quoting the failed form is still an ok attempt
        ['d', 'stable', digest(2), { ...failed(digest(2), '"result":"failed"'), result: 'ok' }],
        ['e', 'canary', digest(1), failed(digest(2), 'PACK_SIGNATURE_INVALID')],
        ['f', 'stable', null, null],
      ];
      for (const [id, channelName, pack, attempt] of cases) {
        await stores.targets.upsert({
          id,
          env: 'prod',
          channel: channelName,
          labels: {},
          capabilities: {},
          activePack: null,
          lastAttempt: null,
          lastReportAt: null,
          registeredAt: AT,
          updatedAt: AT,
        });
        await stores.targets.recordReport({
          id: `r-${id}`,
          targetId: id,
          env: 'prod',
          channel: channelName,
          at: AT,
          activePack: pack,
          ...(attempt === null ? {} : { lastAttempt: attempt }),
        });
      }
      expect(await stores.targets.packSummary('prod', 'stable', digest(2))).toEqual({
        targets: 5,
        onPack: 2,
        failedAttempts: [{ id: 'b', lastAttempt: failed(digest(2), 'PACK_SIGNATURE_INVALID') }],
      });
      expect(await stores.targets.packSummary('prod', 'none', digest(2))).toEqual({
        targets: 0,
        onPack: 0,
        failedAttempts: [],
      });
    });

    it('saves a release only over the version it read, and lists the ones still active', async () => {
      await stores.channels.insert(channel());
      const first = release('rel_a');
      await stores.releases.insert({ release: first, createdAt: AT, updatedAt: AT });
      await stores.releases.insert({
        release: release('rel_b', { state: 'completed' }),
        createdAt: '2026-01-01T00:00:01.000Z',
        updatedAt: AT,
      });
      const next = { ...first, state: 'verifying' as const, version: 1 };
      expect(await stores.releases.saveIfVersion(next, 0, AT)).toBe(true);
      expect(await stores.releases.saveIfVersion({ ...next, version: 1 }, 0, AT)).toBe(false);
      expect((await stores.releases.find('rel_a'))?.release).toEqual(next);
      expect(await stores.releases.listActiveIds()).toEqual(['rel_a']);
      expect((await stores.releases.list({ limit: 10 })).map((r) => r.release.id)).toEqual([
        'rel_b',
        'rel_a',
      ]);
      expect(
        (await stores.releases.list({ state: 'verifying', limit: 10 })).map((r) => r.release.id),
      ).toEqual(['rel_a']);
    });

    it('refuses a second active release in a channel at the database level', async () => {
      await stores.channels.insert(channel());
      await stores.releases.insert({ release: release('rel_a'), createdAt: AT, updatedAt: AT });
      await expect(
        stores.releases.insert({ release: release('rel_b'), createdAt: AT, updatedAt: AT }),
      ).rejects.toThrow();
      await stores.releases.insert({
        release: release('rel_c', { state: 'aborted' }),
        createdAt: AT,
        updatedAt: AT,
      });
    });

    it('appends decision records as a hash chain that verifies, and detects a changed record', async () => {
      const first = await stores.transaction((tx) => recordDecisions(tx, [draft(1), draft(2)]));
      const second = await stores.transaction((tx) => recordDecisions(tx, [draft(3)]));
      expect([...first, ...second].map((r) => r.seq)).toEqual([1, 2, 3]);
      expect(first[0]?.prevDigest).toBeNull();
      expect(second[0]?.prevDigest).toBe(first[1]?.digest);
      const stored = await stores.decisions.list({ limit: 10 });
      expect(stored).toEqual([...first, ...second]);
      expect(verifyDecisionChain(stored)).toEqual({ ok: true, checked: 3, broken: null });
      expect(await stores.decisions.list({ release: 'rel_1', afterSeq: 2, limit: 10 })).toEqual(
        second,
      );
      const tampered = stored.map((r) =>
        r.seq === 2 ? { ...r, inputs: { ...r.inputs, n: 20 } } : r,
      );
      expect(verifyDecisionChain(tampered)).toMatchObject({ ok: false, broken: { seq: 2 } });
      const dropped = stored.filter((r) => r.seq !== 2);
      expect(verifyDecisionChain(dropped)).toMatchObject({ ok: false, broken: { seq: 3 } });
    });

    it('rolls back decision records with the transaction that wrote them', async () => {
      await expect(
        stores.transaction(async (tx) => {
          await recordDecisions(tx, [draft(1)]);
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect(await stores.decisions.list({ limit: 10 })).toEqual([]);
      const [record] = await stores.transaction((tx) => recordDecisions(tx, [draft(2)]));
      expect(record).toMatchObject({ seq: 1, prevDigest: null });
    });

    it('gives the SQLite-style lease to one holder until it expires or is released', async () => {
      const ttlMs = 10_000;
      const a = createSqliteLease({ stores, holder: 'a', ttlMs });
      const b = createSqliteLease({ stores, holder: 'b', ttlMs });
      const t0 = new Date(AT);
      const later = (s: number): Date => new Date(t0.getTime() + s * 1000);
      expect(await a.acquire(t0)).toBe(true);
      expect(await b.acquire(later(5))).toBe(false);
      expect(await a.acquire(later(9))).toBe(true);
      expect(await b.acquire(later(18))).toBe(false);
      expect(await stores.transaction((tx) => a.stillHeld(tx, later(18)))).toBe(true);
      expect(await b.acquire(later(19))).toBe(true);
      expect(await stores.transaction((tx) => a.stillHeld(tx, later(19)))).toBe(false);
      await b.release();
      expect(await a.acquire(later(20))).toBe(true);
    });

    it('claims an idempotency key once and prunes old keys', async () => {
      const entry = {
        actor: 'admin',
        key: 'k1',
        scope: 'release.create',
        requestHash: 'h',
        responseJson: 'null',
        createdAt: AT,
      };
      await stores.idempotency.insert(entry);
      await expect(stores.idempotency.insert(entry)).rejects.toThrow();
      await stores.idempotency.setResponse('admin', 'k1', '{"ok":true}');
      expect(await stores.idempotency.find('admin', 'k1')).toEqual({
        ...entry,
        responseJson: '{"ok":true}',
      });
      expect(await stores.idempotency.find('bob', 'k1')).toBeNull();
      expect(await stores.idempotency.prune('2026-01-01T00:00:00.001Z')).toBe(1);
    });

    it('generates the channel-index key once; a second service of the same database reads it', async () => {
      const config = { dataDir: testDatabase.dataDir };
      const clock = (): Date => new Date(AT);
      const one = createServerKeyService({ config, stores, clock });
      const two = createServerKeyService({ config, stores, clock });
      const [a, b] = await Promise.all([one.indexKey(), two.indexKey()]);
      expect(a.keyId).toMatch(/^[0-9a-f]{64}$/);
      expect(b.keyId).toBe(a.keyId);
      expect(await one.list()).toEqual([
        { keyId: a.keyId, publicKeyPem: a.publicKeyPem, use: 'channel-index' },
      ]);
    });
  });
}

function failed(pack: string, code: string): TargetAttempt {
  return {
    kind: 'verify',
    pack,
    result: 'failed',
    at: AT,
    code,
  };
}
