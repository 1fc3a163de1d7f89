/**
 * The record step (commit-road.ts `appendDecisions`) writes the chain, the transparency log, the
 * webhook outbox and the contexts the records name. On PostgreSQL it costs two statements
 * whatever it records (ADR 0024): the chain head's lock with every read, then every write at
 * once; these tests hold it to that and to what one statement must not lose: all of the step or
 * none of it, the chain's lock taken before the log's, and a step too large for one statement's
 * bound values split and kept whole.
 */
import { createPublicKey } from 'node:crypto';
import { verifyEnvelope } from '@lockgate/core';
import type { KyselyPlugin } from 'kysely';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { appendDecisions } from '../src/features/decisions/commit-road.ts';
import { verifyDecisionChain } from '../src/features/decisions/decision-log.ts';
import type { DecisionRecordDraft } from '../src/features/decisions/decision-log.ts';
import { encodeDecisionContext } from '../src/features/replays/decision-context-store.ts';
import { loadLogKey } from '../src/features/server-keys/log-key.ts';
import { createStores } from '../src/stores.ts';
import type { Stores } from '../src/stores.ts';
import { DIALECTS, describeDialect } from './helpers/test-database.ts';
import type { TestDatabase } from './helpers/test-database.ts';

const AT = '2026-11-25T08:00:00.000Z';

function paused(release: string, i: number): DecisionRecordDraft {
  return {
    release,
    env: 'prod',
    channel: 'stable',
    at: AT,
    kind: 'command',
    rule: 'command.pause',
    actor: 'admin',
    reason: `pause ${i}`,
    from: 'rolling',
    to: 'paused',
    stageIndex: 0,
    inputs: { n: i },
    verdict: 'paused',
    holder: null,
  };
}

/** Counts the statements run through a database handle (BEGIN and COMMIT are not queries). */
function counting(): KyselyPlugin & { count: number } {
  const plugin = {
    count: 0,
    transformQuery: (args: Parameters<KyselyPlugin['transformQuery']>[0]) => args.node,
    transformResult: (args: Parameters<KyselyPlugin['transformResult']>[0]) => {
      plugin.count += 1;
      return Promise.resolve(args.result);
    },
  };
  return plugin;
}

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'the record step', () => {
    let testDatabase: TestDatabase;
    let stores: Stores;
    let statements: ReturnType<typeof counting>;

    beforeEach(async () => {
      testDatabase = await dialect.create();
      statements = counting();
      stores = createStores(testDatabase.database.db.withPlugin(statements));
      for (const name of ['ops', 'chat']) {
        await stores.webhooks.insert({
          id: `whk_${name}`,
          name,
          url: `http://127.0.0.1:9/${name}`,
          format: 'json',
          events: name === 'ops' ? ['*'] : ['release.completed'],
          secret: 'whsec_0123456789abcdef',
          createdAt: AT,
          createdBy: 'admin',
        });
      }
      // the log key is made by the first record ever: an untimed step first
      await stores.transaction((tx) => appendDecisions(tx, [paused('rel_first', 0)]));
    });

    afterEach(async () => {
      await testDatabase.dispose();
    });

    async function everything() {
      const records = await stores.decisions.list({ limit: 100_000 });
      const head = await stores.log.head();
      const entries = await stores.log.entries(0, 100_000);
      const deliveries = await stores.webhooks.listDeliveries('whk_ops', 100_000);
      return { records, head, entries, deliveries };
    }

    it('records, logs, queues and keeps the contexts in two statements on PostgreSQL', async () => {
      const call = { fn: 'example', input: { at: AT, numbers: [1, 2, 3] } };
      statements.count = 0;
      const written = await stores.transaction((tx) =>
        appendDecisions(tx, [paused('rel_a', 1), paused('rel_b', 2)], [call]),
      );
      if (dialect.name === 'postgres') expect(statements.count).toBe(2);

      const { records, head, entries, deliveries } = await everything();
      expect(records.map((r) => r.seq)).toEqual([1, 2, 3]);
      expect(records.slice(1)).toEqual(written);
      expect(verifyDecisionChain(records)).toMatchObject({ ok: true, checked: 3 });
      expect(head.size).toBe(3);
      const logKey = await loadLogKey(stores, AT);
      const key = { keyId: logKey.keyId, publicKey: createPublicKey(logKey.publicKeyPem) };
      for (const entry of entries) {
        expect(() => verifyEnvelope(entry.envelope, key)).not.toThrow();
      }
      // each pause announces release.paused to the subscription of every event only
      expect(deliveries.map((d) => d.eventType)).toEqual([
        'release.paused',
        'release.paused',
        'release.paused',
      ]);
      expect(await stores.webhooks.listDeliveries('whk_chat', 10)).toEqual([]);
      expect(await stores.contexts.get(encodeDecisionContext(call).digest)).toMatchObject({
        context: call,
        intact: true,
        storedAt: AT,
      });
    });

    it('leaves nothing of a step whose write fails', async () => {
      const before = await everything();
      // a log leaf already where the next record's leaf goes: the write of the step fails
      await testDatabase.database.db
        .insertInto('log_entries')
        .values({ seq: 2, leaf_hash: 'AAAA', envelope_json: '{}' })
        .execute();
      const call = { fn: 'never-kept', input: {} };
      await expect(
        stores.transaction((tx) => appendDecisions(tx, [paused('rel_c', 3)], [call])),
      ).rejects.toThrow();

      const after = await everything();
      expect(after.records).toEqual(before.records);
      expect(after.head).toEqual(before.head);
      expect(after.deliveries).toEqual(before.deliveries);
      expect(await stores.decisions.lockHead()).toMatchObject({ lastSeq: 1 });
      expect(await stores.contexts.get(encodeDecisionContext(call).digest)).toBeNull();
    });

    it('splits a step larger than one statement binds, and keeps all of it', async () => {
      // 4,000 records: 76,000 bound values for the records alone, past PostgreSQL's 65,535
      const drafts = Array.from({ length: 4000 }, (_, i) => paused(`rel_${i % 7}`, i));
      statements.count = 0;
      await stores.transaction((tx) => appendDecisions(tx, drafts));
      if (dialect.name === 'postgres') expect(statements.count).toBeGreaterThan(2);

      const { records, head, entries, deliveries } = await everything();
      expect(records).toHaveLength(4001);
      expect(verifyDecisionChain(records)).toMatchObject({ ok: true, checked: 4001 });
      expect(head.size).toBe(4001);
      expect(entries.map((e) => e.seq)).toEqual(records.map((r) => r.seq));
      expect(deliveries).toHaveLength(4001);
    });

    it('keeps the chain and the log whole with steps of many transactions at once', async () => {
      // each step waits for the chain head's lock, then takes the log head's: never a deadlock
      await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          stores.transaction((tx) =>
            appendDecisions(tx, [paused(`rel_${i}`, 2 * i), paused(`rel_${i}`, 2 * i + 1)]),
          ),
        ),
      );
      const { records, head, entries } = await everything();
      expect(records).toHaveLength(25);
      expect(verifyDecisionChain(records)).toMatchObject({ ok: true, checked: 25 });
      expect(head.size).toBe(25);
      expect(entries.map((e) => e.seq)).toEqual(records.map((r) => r.seq));
    });

    it('takes the log head only once it holds the chain head', async () => {
      if (dialect.name !== 'postgres') return; // SQLite's transactions run one at a time
      // A holds the chain head; a step starts and waits; then A takes the log head as well. Had
      // the step locked the log head first, A and the step would wait on each other.
      let release = (): void => undefined;
      const holding = new Promise<void>((resolve) => {
        release = resolve;
      });
      let locked = (): void => undefined;
      const chainLocked = new Promise<void>((resolve) => {
        locked = resolve;
      });
      const a = stores.transaction(async (tx) => {
        await tx.decisions.lockHead();
        locked();
        await holding;
        return tx.log.lockHead();
      });
      await chainLocked;
      const step = stores.transaction((tx) => appendDecisions(tx, [paused('rel_b', 1)]));
      // the step is waiting for the chain head (its statement has started)
      await new Promise((resolve) => setTimeout(resolve, 200));
      release();
      expect((await a).size).toBe(1);
      expect(await step).toHaveLength(1);
      const { records, head } = await everything();
      expect(verifyDecisionChain(records)).toMatchObject({ ok: true, checked: 2 });
      expect(head.size).toBe(2);
    });
  });
}
