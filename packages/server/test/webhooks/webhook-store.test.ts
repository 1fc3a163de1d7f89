import { afterEach, beforeEach, expect, it } from 'vitest';
import { recordDecisions } from '../../src/features/decisions/commit-road.ts';
import type { DecisionRecordDraft } from '../../src/features/decisions/decision-log.ts';
import type { StoredWebhook } from '../../src/features/webhooks/webhook-store.ts';
import { createStores } from '../../src/stores.ts';
import type { Stores } from '../../src/stores.ts';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';
import type { TestDatabase } from '../helpers/test-database.ts';
import { storedWebhook } from '../helpers/webhooks.ts';

const AT = '2026-01-01T00:00:00.000Z';

function webhook(name: string, overrides: Partial<StoredWebhook> = {}): StoredWebhook {
  return storedWebhook(name, AT, overrides);
}

function completion(release: string, at = AT): DecisionRecordDraft {
  return {
    release,
    env: 'prod',
    channel: 'stable',
    at,
    kind: 'completion',
    rule: 'stage.soak_complete',
    actor: 'controller',
    reason: null,
    from: 'rolling',
    to: 'completed',
    stageIndex: 2,
    inputs: {},
    verdict: 'completed',
    holder: 'h1',
  };
}

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'webhook store', () => {
    let testDatabase: TestDatabase;
    let stores: Stores;

    beforeEach(async () => {
      testDatabase = await dialect.create();
      stores = createStores(testDatabase.database.db);
    });

    afterEach(async () => {
      await testDatabase.dispose();
    });

    it('keeps a subscription name unique and lists subscriptions by name', async () => {
      expect(await stores.webhooks.insert(webhook('ops'))).toBe(true);
      expect(await stores.webhooks.insert(webhook('chat', { format: 'slack' }))).toBe(true);
      expect(await stores.webhooks.insert(webhook('ops', { id: 'whk_other' }))).toBe(false);
      expect((await stores.webhooks.list()).map((w) => [w.name, w.format])).toEqual([
        ['chat', 'slack'],
        ['ops', 'json'],
      ]);
      expect(await stores.webhooks.find('ops')).toEqual(webhook('ops'));
    });

    it('queues a delivery in the transaction that appends the decision, and none when it rolls back', async () => {
      await stores.webhooks.insert(webhook('ops'));
      await stores.webhooks.insert(webhook('only-rollbacks', { events: ['release.rolled_back'] }));
      await stores.transaction((tx) => recordDecisions(tx, [completion('rel_1')]));
      await expect(
        stores.transaction(async (tx) => {
          await recordDecisions(tx, [completion('rel_2')]);
          throw new Error('the decision is not committed');
        }),
      ).rejects.toThrow('not committed');
      const ops = await stores.webhooks.listDeliveries('whk_ops', 10);
      expect(ops.map((d) => [d.eventType, d.status, d.attempts])).toEqual([
        ['release.completed', 'pending', 0],
      ]);
      expect(JSON.parse(ops[0]?.payloadJson ?? '{}')).toMatchObject({ release: 'rel_1' });
      expect(await stores.webhooks.listDeliveries('whk_only-rollbacks', 10)).toEqual([]);
    });

    it('queues one delivery per subscription and event even when queued twice', async () => {
      await stores.webhooks.insert(webhook('ops'));
      const [record] = await stores.transaction((tx) => recordDecisions(tx, [completion('rel_1')]));
      const [delivery] = await stores.webhooks.listDeliveries('whk_ops', 10);
      if (record === undefined || delivery === undefined) throw new Error('expected a delivery');
      await stores.webhooks.enqueue([{ ...delivery, id: 'whd_again' }]);
      expect(await stores.webhooks.listDeliveries('whk_ops', 10)).toHaveLength(1);
    });

    it('lets one claimer hold a due delivery until its claim lapses', async () => {
      await stores.webhooks.insert(webhook('ops'));
      await stores.transaction((tx) => recordDecisions(tx, [completion('rel_1')]));
      const later = '2026-01-01T00:00:10.000Z';
      const first = await stores.webhooks.claimDue(later, '2026-01-01T00:01:00.000Z', 10);
      expect(first.map((due) => due.webhook.name)).toEqual(['ops']);
      expect(first[0]?.webhook.secret).toBe('whsec_0123456789abcdef');
      expect(await stores.webhooks.claimDue(later, '2026-01-01T00:01:00.000Z', 10)).toEqual([]);
      const afterLapse = await stores.webhooks.claimDue(
        '2026-01-01T00:01:00.000Z',
        '2026-01-01T00:02:00.000Z',
        10,
      );
      expect(afterLapse).toHaveLength(1);
    });

    it('does not claim a delivery before it is due', async () => {
      await stores.webhooks.insert(webhook('ops'));
      await stores.transaction((tx) =>
        recordDecisions(tx, [completion('rel_1', '2026-01-01T00:05:00.000Z')]),
      );
      expect(await stores.webhooks.claimDue(AT, '2026-01-01T00:01:00.000Z', 10)).toEqual([]);
    });

    it('keeps every attempt in the log and the outcome on the delivery', async () => {
      await stores.webhooks.insert(webhook('ops'));
      await stores.transaction((tx) => recordDecisions(tx, [completion('rel_1')]));
      const [due] = await stores.webhooks.claimDue(AT, '2026-01-01T00:01:00.000Z', 10);
      if (due === undefined) throw new Error('expected a due delivery');
      const id = due.delivery.id;
      await stores.webhooks.recordAttempt(
        { deliveryId: id, attempt: 1, at: AT, statusCode: 500, error: 'HTTP 500', durationMs: 3 },
        {
          status: 'pending',
          attempts: 1,
          nextAttemptAt: '2026-01-01T00:00:02.000Z',
          lastStatusCode: 500,
          lastError: 'HTTP 500',
          finishedAt: null,
        },
      );
      await stores.webhooks.recordAttempt(
        {
          deliveryId: id,
          attempt: 2,
          at: '2026-01-01T00:00:02.000Z',
          statusCode: 204,
          error: null,
          durationMs: 2,
        },
        {
          status: 'delivered',
          attempts: 2,
          nextAttemptAt: '2026-01-01T00:00:02.000Z',
          lastStatusCode: 204,
          lastError: null,
          finishedAt: '2026-01-01T00:00:02.000Z',
        },
      );
      expect(await stores.webhooks.findDelivery(id)).toMatchObject({
        status: 'delivered',
        attempts: 2,
        lastStatusCode: 204,
      });
      expect((await stores.webhooks.listAttempts([id])).map((a) => a.statusCode)).toEqual([
        500, 204,
      ]);
      expect(
        await stores.webhooks.claimDue('2026-01-02T00:00:00.000Z', '2026-01-03T00:00:00.000Z', 10),
      ).toEqual([]);
    });

    it('removes a subscription with its deliveries and attempts', async () => {
      await stores.webhooks.insert(webhook('ops'));
      await stores.transaction((tx) => recordDecisions(tx, [completion('rel_1')]));
      const [due] = await stores.webhooks.claimDue(AT, '2026-01-01T00:01:00.000Z', 10);
      if (due === undefined) throw new Error('expected a due delivery');
      await stores.webhooks.recordAttempt(
        {
          deliveryId: due.delivery.id,
          attempt: 1,
          at: AT,
          statusCode: 500,
          error: 'x',
          durationMs: 1,
        },
        {
          status: 'pending',
          attempts: 1,
          nextAttemptAt: AT,
          lastStatusCode: 500,
          lastError: 'x',
          finishedAt: null,
        },
      );
      expect(await stores.webhooks.delete('ops')).toBe(true);
      expect(await stores.webhooks.delete('ops')).toBe(false);
      expect(await stores.webhooks.findDelivery(due.delivery.id)).toBeNull();
      expect(await stores.webhooks.listAttempts([due.delivery.id])).toEqual([]);
    });
  });
}
