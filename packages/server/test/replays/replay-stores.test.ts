import {
  canonicalBytes,
  CORE_VERSION,
  digestOf,
  isContextHead,
  releaseContextDigest,
} from '@lockgate/core';
import fc from 'fast-check';
import { brotliDecompressSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordDecisions } from '../../src/features/decisions/commit-road.ts';
import {
  decisionRecordDigest,
  verifyDecisionChain,
} from '../../src/features/decisions/decision-log.ts';
import type { DecisionRecord } from '../../src/features/decisions/decision-store.ts';
import {
  encodeDecisionContext,
  encodeListInSlices,
} from '../../src/features/replays/decision-context-store.ts';
import type { StoredReplay } from '../../src/features/replays/replay-store.ts';
import { createStores } from '../../src/stores.ts';
import type { Stores } from '../../src/stores.ts';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';
import type { TestDatabase } from '../helpers/test-database.ts';

const AT = '2026-01-01T00:00:00.000Z';

/** A context-like value with reports, big enough for compression to matter. */
function contextOf(n: number): Record<string, unknown> {
  return {
    release: { id: `rel_${n}`, version: n },
    reports: Array.from({ length: 200 }, (_, i) => ({
      targetId: `t-${String(i).padStart(4, '0')}`,
      at: AT,
      health: { requests: 100, errors: i % 3 },
    })),
    note: 'ünïcødé ✓',
  };
}

function replay(id: string, createdAt: string, matching: number): StoredReplay {
  return {
    id,
    release: 'rel_1',
    requester: 'admin',
    reason: 'audit',
    status: 'completed',
    coreVersion: CORE_VERSION,
    createdAt,
    finishedAt: createdAt,
    result: {
      total: 3,
      matching,
      mismatches: 3 - matching,
      matchRate: matching / 3,
      mismatched: [],
      skipped: [{ seq: 1, rule: 'release.create', why: 'not a core release decision' }],
      error: null,
    },
  };
}

describe('a list encoded a slice at a time', () => {
  const decoded = (body: string): string =>
    brotliDecompressSync(Buffer.from(body, 'base64')).toString('utf8');

  it('gives the bytes, digest and size of the whole list encoded at once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.jsonValue(), { maxLength: 30 }), async (list) => {
        const whole = encodeDecisionContext(list);
        const sliced = await encodeListInSlices(list);
        expect(sliced.digest).toBe(whole.digest);
        expect(sliced.size).toBe(whole.size);
        expect(decoded(sliced.body)).toBe(decoded(whole.body));
      }),
      { numRuns: 200 },
    );
  });

  it('joins slices as one list however many there are (across the slice size and at it)', async () => {
    for (const length of [0, 1, 1999, 2000, 2001, 4000, 5003]) {
      const list = Array.from({ length }, (_, i) => ({ target: `t-${i}`, at: AT, ok: i % 2 }));
      const sliced = await encodeListInSlices(list);
      expect(sliced.digest).toBe(digestOf(canonicalBytes(list)));
      expect(JSON.parse(decoded(sliced.body))).toEqual(list);
    }
  });
});

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'replay stores', () => {
    let database: TestDatabase;
    let stores: Stores;

    beforeEach(async () => {
      database = await dialect.create();
      stores = createStores(database.database.db);
    });

    afterEach(async () => {
      await database.dispose();
    });

    it('stores a context under the digest of its canonical bytes and gives it back whole', async () => {
      const context = contextOf(1);
      const digest = await stores.contexts.put(context, AT);
      expect(digest).toBe(digestOf(canonicalBytes(context)));
      const got = await stores.contexts.get(digest);
      expect(got).toMatchObject({ digest, context, intact: true, storedAt: AT });
      expect(got?.size).toBe(canonicalBytes(context).length);
      expect(got?.storedSize).toBeLessThan(got?.size ?? 0);
      expect(await stores.contexts.get(digestOf('nothing'))).toBeNull();
    });

    it('stores a list encoded ahead as it was encoded, and gives it back whole', async () => {
      const list = Array.from({ length: 4500 }, (_, i) => ({ target: `t-${i}`, pack: null }));
      const encoded = await encodeListInSlices(list);
      const { digest, parts } = stores.contexts.putParts(encoded, AT, new Set());
      expect(digest).toBe(digestOf(canonicalBytes(list)));
      await stores.statements.write(parts);
      expect(await stores.contexts.get(digest)).toMatchObject({
        digest,
        context: list,
        intact: true,
      });
    });

    it('keeps one row per context, the first, however often it is stored', async () => {
      const digest = await stores.contexts.put(contextOf(2), AT);
      expect(await stores.contexts.put(contextOf(2), '2027-01-01T00:00:00.000Z')).toBe(digest);
      const rows = await database.database.db
        .selectFrom('decision_contexts')
        .select(['digest', 'stored_at'])
        .execute();
      expect(rows).toEqual([{ digest, stored_at: AT }]);
    });

    it('says a context edited in the database is no longer intact', async () => {
      const digest = await stores.contexts.put(contextOf(3), AT);
      const other = await stores.contexts.put(contextOf(4), AT);
      const { db } = database.database;
      const row = await db
        .selectFrom('decision_contexts')
        .select('body')
        .where('digest', '=', other)
        .executeTakeFirstOrThrow();
      await db
        .updateTable('decision_contexts')
        .set({ body: row.body })
        .where('digest', '=', digest)
        .execute();
      expect(await stores.contexts.get(digest)).toMatchObject({
        intact: false,
        context: contextOf(4),
      });
    });

    it('keeps a release context as its head and its lists, shares unchanged lists, and says an edited list is not intact', async () => {
      const targets = Array.from({ length: 300 }, (_, i) => ({
        id: `t-${String(i).padStart(4, '0')}`,
        labels: { zone: i % 2 === 0 ? 'a' : 'b' },
      }));
      const releaseContext = (
        version: number,
        stageTargets: string[],
      ): Record<string, unknown> => ({
        release: { id: 'rel_1', version },
        reports: [],
        stageTargets,
        targets,
        freezeWindows: [],
      });
      const first = releaseContext(1, ['t-0000', 't-0001']);
      const digest = await stores.contexts.put(first, AT);
      expect(digest).toBe(
        releaseContextDigest(first as unknown as Parameters<typeof releaseContextDigest>[0]),
      );
      expect(digest).not.toBe(digestOf(canonicalBytes(first)));
      expect(await stores.contexts.get(digest)).toMatchObject({ intact: true, context: first });
      const { db } = database.database;
      const rows = async (): Promise<number> =>
        (await db.selectFrom('decision_contexts').select('digest').execute()).length;
      // head + targets + stage targets
      expect(await rows()).toBe(3);
      // The next decision on the same targets adds its head and nothing else.
      const second = releaseContext(2, ['t-0000', 't-0001']);
      const secondDigest = await stores.contexts.put(second, AT);
      expect(await rows()).toBe(4);
      expect(await stores.contexts.get(secondDigest)).toMatchObject({ context: second });
      // A list row edited in the database: every head naming it is no longer intact.
      const targetsDigest = digestOf(canonicalBytes(targets));
      const moved = targets.map((t, i) => (i === 7 ? { ...t, labels: { zone: 'c' } } : t));
      const { body } = encodeDecisionContext(moved);
      await db
        .updateTable('decision_contexts')
        .set({ body })
        .where('digest', '=', targetsDigest)
        .execute();
      for (const named of [digest, secondDigest]) {
        expect(await stores.contexts.get(named)).toMatchObject({ intact: false });
      }
      // A list row deleted: the head comes back as stored, not intact.
      await db.deleteFrom('decision_contexts').where('digest', '=', targetsDigest).execute();
      const headOnly = await stores.contexts.get(digest);
      expect(headOnly?.intact).toBe(false);
      expect(isContextHead(headOnly?.context)).toBe(true);
    });

    it('lists the replays of a release newest first with their figures', async () => {
      await stores.replays.insert(replay('rpl_a', AT, 3));
      await stores.replays.insert(replay('rpl_b', '2026-01-02T00:00:00.000Z', 2));
      await stores.replays.insert({ ...replay('rpl_c', AT, 3), release: 'rel_2' });
      const listed = await stores.replays.listByRelease('rel_1', 10);
      expect(listed.map((r) => r.id)).toEqual(['rpl_b', 'rpl_a']);
      expect(listed[0]).toEqual(replay('rpl_b', '2026-01-02T00:00:00.000Z', 2));
      expect(await stores.replays.listByRelease('rel_1', 1)).toHaveLength(1);
    });

    it('stamps the core version on new records and still verifies records written without one', async () => {
      // A record as written before core versions were kept: its digest has no coreVersion.
      const old: Omit<DecisionRecord, 'seq' | 'digest'> = {
        id: 'dec_old',
        release: null,
        env: null,
        channel: null,
        at: AT,
        kind: 'token',
        rule: 'token.create',
        actor: 'admin',
        reason: null,
        from: null,
        to: null,
        stageIndex: null,
        inputs: { name: 'ci' },
        verdict: 'created',
        holder: null,
        prevDigest: null,
        coreVersion: null,
      };
      const { coreVersion: _none, ...withoutVersion } = old;
      const oldDigest = digestOf(canonicalBytes(withoutVersion));
      expect(decisionRecordDigest(old)).toBe(oldDigest);
      await stores.transaction(async (tx) => {
        await tx.decisions.lockHead();
        await tx.decisions.insert({ ...old, seq: 1, digest: oldDigest });
        await tx.decisions.setHead({ lastSeq: 1, lastDigest: oldDigest });
        const { id: _id, prevDigest: _prev, ...draft } = withoutVersion;
        const [next] = await recordDecisions(tx, [draft]);
        expect(next?.coreVersion).toBe(CORE_VERSION);
      });
      const log = await stores.decisions.list({ limit: 10 });
      expect(log.map((r) => r.coreVersion)).toEqual([null, CORE_VERSION]);
      expect(verifyDecisionChain(log)).toMatchObject({ ok: true, checked: 2 });
      const [, stamped] = log;
      if (stamped === undefined) throw new Error('no second record');
      // The core version is covered by the digest: changing or dropping it breaks the record.
      expect(
        verifyDecisionChain([
          log[0] as DecisionRecord,
          { ...stamped, coreVersion: '9.9.9+decide.9' },
        ]).ok,
      ).toBe(false);
      expect(
        verifyDecisionChain([log[0] as DecisionRecord, { ...stamped, coreVersion: null }]).ok,
      ).toBe(false);
    });
  });
}
