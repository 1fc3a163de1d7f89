import type { BuildRecord } from '@lockgate/core';
import { sql } from 'kysely';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { migrateToLatest, openDatabase } from '../src/db/database.ts';
import type { StoredPack } from '../src/features/packs/pack-store.ts';
import { createStores } from '../src/stores.ts';
import type { Stores } from '../src/stores.ts';
import { DIALECTS, describeDialect } from './helpers/test-database.ts';
import type { TestDatabase } from './helpers/test-database.ts';

const digest = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;

function build(id: string, overrides: Partial<BuildRecord> = {}): BuildRecord {
  return {
    id,
    status: 'passed',
    gates: [{ name: 'unit', status: 'PASS' }],
    packDigest: null,
    reportedAt: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
}

function pack(n: number, overrides: Partial<StoredPack> = {}): StoredPack {
  return {
    digest: digest(n),
    name: 'kb',
    version: `1.0.${n}`,
    sequence: n,
    buildId: 'build-1',
    manifestJson: '{}',
    size: 3_000_000_000 + n,
    createdAt: '2026-01-01T00:00:00.000Z',
    pushedAt: `2026-01-01T00:00:0${n}.000Z`,
    pushedBy: 'admin',
    ...overrides,
  };
}

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'stores', () => {
    let testDatabase: TestDatabase;
    let stores: Stores;

    beforeEach(async () => {
      testDatabase = await dialect.create();
      stores = createStores(testDatabase.database.db);
    });

    afterEach(async () => {
      await testDatabase.dispose();
    });

    it('reports the dialect it opened', () => {
      expect(testDatabase.database.dialect).toBe(dialect.name);
    });

    it('applies the migrations once; running them again changes nothing', async () => {
      expect(await migrateToLatest(testDatabase.database.db)).toEqual([]);
      const again = await openDatabase(testDatabase.config);
      await again.close();
      const applied = await sql<{
        name: string;
      }>`select name from kysely_migration order by name`.execute(testDatabase.database.db);
      expect(applied.rows.map((row) => row.name)).toEqual([
        '0001-foundation',
        '0002-releases',
        '0003-token-names',
        '0004-token-scopes',
        '0005-transparency-log',
        '0006-webhooks',
        '0008-replays',
        '0009-channel-counters',
        '0011-operations-jobs',
        '0013-change-notifications',
        '0014-failed-attempts-index',
        '0015-change-poll-indexes',
      ]);
    });

    it('adds SLO samples of one minute from several servers, sums a window and prunes before it', async () => {
      const slo = 'desired-availability';
      await stores.slo.addSample(slo, '2026-05-04T09:00:00.000Z', { good: 90, total: 100 });
      await stores.slo.addSample(slo, '2026-05-04T09:00:00.000Z', { good: 10, total: 12 });
      await stores.slo.addSample(slo, '2026-05-04T09:01:00.000Z', { good: 5, total: 5 });
      await stores.slo.addSample('other', '2026-05-04T09:01:00.000Z', { good: 0, total: 7 });
      expect(await stores.slo.totals(slo, '2026-05-04T09:00:00.000Z')).toEqual({
        good: 105,
        total: 117,
      });
      expect(await stores.slo.totals(slo, '2026-05-04T09:00:30.000Z')).toEqual({
        good: 5,
        total: 5,
      });
      expect(await stores.slo.prune(slo, '2026-05-04T09:01:00.000Z')).toBe(1);
      expect(await stores.slo.totals(slo, '2026-05-04T00:00:00.000Z')).toEqual({
        good: 5,
        total: 5,
      });
      expect(await stores.slo.totals('other', '2026-05-04T00:00:00.000Z')).toEqual({
        good: 0,
        total: 7,
      });
    });

    it('answers a ping', async () => {
      await expect(stores.ping()).resolves.toBeUndefined();
    });

    it('stores a pack and finds it by digest and by name@version, sizes above 2^31 intact', async () => {
      await stores.builds.insert({ record: build('build-1'), reportedBy: 'admin' });
      expect(await stores.packs.insert(pack(1))).toBe(true);
      expect(await stores.packs.findByDigest(digest(1))).toEqual(pack(1));
      expect(await stores.packs.findByNameVersion('kb', '1.0.1')).toEqual(pack(1));
      expect(await stores.packs.findByDigest(digest(2))).toBeNull();
      expect(await stores.packs.findByNameVersion('kb', '9.9.9')).toBeNull();
    });

    it('inserts nothing for an existing digest or an existing name@version', async () => {
      await stores.builds.insert({ record: build('build-1'), reportedBy: 'admin' });
      await stores.packs.insert(pack(1));
      expect(await stores.packs.insert(pack(1))).toBe(false);
      expect(await stores.packs.insert(pack(2, { version: '1.0.1' }))).toBe(false);
      expect(await stores.packs.list({ limit: 10 })).toEqual([pack(1)]);
    });

    it('refuses a pack whose build is not recorded', async () => {
      await expect(stores.packs.insert(pack(1, { buildId: 'nobody' }))).rejects.toThrow();
      expect(await stores.packs.findByDigest(digest(1))).toBeNull();
    });

    it('lists packs newest first, filtered by name and limited', async () => {
      await stores.builds.insert({ record: build('build-1'), reportedBy: 'admin' });
      await stores.packs.insert(pack(1));
      await stores.packs.insert(pack(2, { name: 'other' }));
      await stores.packs.insert(pack(3));
      const names = (packs: StoredPack[]): string[] => packs.map((p) => p.digest);
      expect(names(await stores.packs.list({ limit: 10 }))).toEqual([
        digest(3),
        digest(2),
        digest(1),
      ]);
      expect(names(await stores.packs.list({ name: 'kb', limit: 10 }))).toEqual([
        digest(3),
        digest(1),
      ]);
      expect(names(await stores.packs.list({ limit: 1 }))).toEqual([digest(3)]);
    });

    it('stores builds with source and inputs, and keeps the first report of an id', async () => {
      const record = build('b-1', {
        source: { repo: 'git@example.com:kb.git', commit: 'abc' },
        inputs: { dataset: 'sha256:1' },
      });
      expect(await stores.builds.insert({ record, reportedBy: 'ci' })).toBe(true);
      expect(
        await stores.builds.insert({ record: build('b-1', { status: 'failed' }), reportedBy: 'x' }),
      ).toBe(false);
      expect(await stores.builds.find('b-1')).toEqual({ record, reportedBy: 'ci' });
      expect(await stores.builds.find('b-2')).toBeNull();
    });

    it('lists builds newest first, filtered by status', async () => {
      await stores.builds.insert({ record: build('a'), reportedBy: 'ci' });
      await stores.builds.insert({
        record: build('b', { status: 'failed', reportedAt: '2026-01-02T00:00:00.000Z' }),
        reportedBy: 'ci',
      });
      await stores.builds.insert({
        record: build('c', { reportedAt: '2026-01-03T00:00:00.000Z' }),
        reportedBy: 'ci',
      });
      const ids = async (query: Parameters<Stores['builds']['list']>[0]): Promise<string[]> =>
        (await stores.builds.list(query)).map((stored) => stored.record.id);
      expect(await ids({ limit: 10 })).toEqual(['c', 'b', 'a']);
      expect(await ids({ status: 'passed', limit: 10 })).toEqual(['c', 'a']);
      expect(await ids({ status: 'failed', limit: 10 })).toEqual(['b']);
      expect(await ids({ limit: 2 })).toEqual(['c', 'b']);
    });

    it('links a pack only to a passed build without one', async () => {
      await stores.builds.insert({ record: build('ok'), reportedBy: 'ci' });
      await stores.builds.insert({
        record: build('bad', { status: 'failed', gates: [{ name: 'unit', status: 'FAIL' }] }),
        reportedBy: 'ci',
      });
      expect(await stores.builds.linkPack('ok', digest(1))).toBe(true);
      expect(await stores.builds.linkPack('ok', digest(2))).toBe(false);
      expect(await stores.builds.linkPack('bad', digest(3))).toBe(false);
      expect((await stores.builds.find('ok'))?.record.packDigest).toBe(digest(1));
      expect((await stores.builds.find('bad'))?.record.packDigest).toBeNull();
    });

    it('adds, lists and deletes trusted keys', async () => {
      const key = {
        keyId: 'a'.repeat(64),
        name: 'ci',
        publicKeyPem: 'PEM',
        addedAt: '2026-01-01T00:00:00.000Z',
        addedBy: 'admin',
      };
      expect(await stores.trust.insert(key)).toBe(true);
      expect(await stores.trust.insert({ ...key, name: 'again' })).toBe(false);
      expect(await stores.trust.list()).toEqual([key]);
      expect(await stores.trust.delete(key.keyId)).toEqual(key);
      expect(await stores.trust.delete(key.keyId)).toBeNull();
      expect(await stores.trust.list()).toEqual([]);
    });

    it('finds active tokens by hash and counts them', async () => {
      const token = {
        id: 'tok_1',
        name: 'admin',
        tokenHash: 'f'.repeat(64),
        role: 'admin',
        createdAt: '2026-01-01T00:00:00.000Z',
        revokedAt: null,
      };
      expect(await stores.tokens.countActive()).toBe(0);
      expect(await stores.tokens.insert(token)).toBe(true);
      expect(await stores.tokens.insert({ ...token, id: 'tok_2' })).toBe(false);
      await stores.tokens.insert({
        ...token,
        id: 'tok_3',
        tokenHash: 'e'.repeat(64),
        revokedAt: '2026-01-02T00:00:00.000Z',
      });
      expect(await stores.tokens.countActive()).toBe(1);
      expect(await stores.tokens.findActiveByHash(token.tokenHash)).toEqual(token);
      expect(await stores.tokens.findActiveByHash('e'.repeat(64))).toBeNull();
    });

    it('keeps token names unique except admin, lists and revokes tokens by name', async () => {
      const token = (id: string, name: string, role = 'operator') => ({
        id,
        name,
        tokenHash: id.padEnd(64, '0'),
        role,
        createdAt: `2026-01-01T00:00:0${id.slice(-1)}.000Z`,
        revokedAt: null,
      });
      expect(await stores.tokens.insert(token('tok_1', 'admin', 'admin'))).toBe(true);
      expect(await stores.tokens.insert(token('tok_2', 'admin', 'admin'))).toBe(true);
      expect(await stores.tokens.insert(token('tok_3', 'alice'))).toBe(true);
      expect(await stores.tokens.insert(token('tok_4', 'alice'))).toBe(false);
      expect(await stores.tokens.countActive('admin')).toBe(2);
      expect(await stores.tokens.countActive('operator')).toBe(1);

      const revoked = await stores.tokens.revokeByName('admin', '2026-01-02T00:00:00.000Z');
      expect(revoked.map((t) => [t.id, t.revokedAt])).toEqual([
        ['tok_1', '2026-01-02T00:00:00.000Z'],
        ['tok_2', '2026-01-02T00:00:00.000Z'],
      ]);
      expect(await stores.tokens.revokeByName('admin', '2026-01-03T00:00:00.000Z')).toEqual([]);
      expect(await stores.tokens.countActive('admin')).toBe(0);
      expect((await stores.tokens.findByName('admin')).map((t) => t.id)).toEqual([
        'tok_1',
        'tok_2',
      ]);
      expect(await stores.tokens.findByName('nobody')).toEqual([]);
      expect((await stores.tokens.list()).map((t) => [t.name, t.revokedAt !== null])).toEqual([
        ['admin', true],
        ['admin', true],
        ['alice', false],
      ]);
    });

    it("stores an agent token's scope in its own columns and reads it back; other tokens have none", async () => {
      const scope = { targets: ['host-1', 'edge-*'], channels: ['prod-eu/stable', 'prod-us/*'] };
      const agent = {
        id: 'tok_agent',
        name: 'agent-1',
        tokenHash: 'a'.repeat(64),
        role: 'agent',
        createdAt: '2026-01-01T00:00:00.000Z',
        revokedAt: null,
        scope,
      };
      const operator = {
        id: 'tok_ops',
        name: 'ops',
        tokenHash: 'b'.repeat(64),
        role: 'operator',
        createdAt: '2026-01-01T00:00:01.000Z',
        revokedAt: null,
      };
      expect(await stores.tokens.insert(agent)).toBe(true);
      expect(await stores.tokens.insert(operator)).toBe(true);
      expect(await stores.tokens.findActiveByHash(agent.tokenHash)).toEqual(agent);
      const stored = await stores.tokens.findActiveByHash(operator.tokenHash);
      expect(stored).toEqual(operator);
      expect(stored).not.toHaveProperty('scope');
      expect(await stores.tokens.list()).toEqual([agent, operator]);

      const row = await testDatabase.database.db
        .selectFrom('api_tokens')
        .select(['id', 'scope_targets_json', 'scope_channels_json'])
        .orderBy('id')
        .execute();
      expect(row).toEqual([
        {
          id: 'tok_agent',
          scope_targets_json: JSON.stringify(scope.targets),
          scope_channels_json: JSON.stringify(scope.channels),
        },
        { id: 'tok_ops', scope_targets_json: null, scope_channels_json: null },
      ]);

      const revoked = await stores.tokens.revokeByName('agent-1', '2026-01-02T00:00:00.000Z');
      expect(revoked).toEqual([{ ...agent, revokedAt: '2026-01-02T00:00:00.000Z' }]);
    });

    it('tells which token ids are active, in batches for long lists', async () => {
      const ids = Array.from({ length: 1200 }, (_, i) => `tok_${String(i).padStart(4, '0')}`);
      for (const id of ['tok_0001', 'tok_0700', 'tok_1100']) {
        await stores.tokens.insert({
          id,
          name: `n-${id.slice(4)}`,
          tokenHash: id.padEnd(64, '0'),
          role: 'operator',
          createdAt: '2026-01-01T00:00:00.000Z',
          revokedAt: null,
        });
      }
      await stores.tokens.revokeByName('n-0700', '2026-01-02T00:00:00.000Z');
      expect(await stores.tokens.activeIds(ids)).toEqual(new Set(['tok_0001', 'tok_1100']));
      expect(await stores.tokens.activeIds([])).toEqual(new Set());
    });

    it('rolls a transaction back when it throws, and commits when it resolves', async () => {
      await expect(
        stores.transaction(async (tx) => {
          await tx.builds.insert({ record: build('rolled-back'), reportedBy: 'ci' });
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect(await stores.builds.find('rolled-back')).toBeNull();

      await stores.transaction(async (tx) => {
        await tx.builds.insert({ record: build('kept'), reportedBy: 'ci' });
        // A nested call joins the outer transaction.
        await tx.transaction((inner) => inner.packs.insert(pack(1, { buildId: 'kept' })));
      });
      expect(await stores.builds.find('kept')).not.toBeNull();
      expect(await stores.packs.findByDigest(digest(1))).not.toBeNull();
    });
  });
}
