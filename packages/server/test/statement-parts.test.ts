/**
 * `stores.statements` (db/statement-parts.ts): parts of several stores read and written
 * together, one statement on PostgreSQL. Each part's rows come back decoded and in the part's
 * own order, as its store's ordinary method returns them; a write is all of its parts or none.
 */
import { sql } from 'kysely';
import type { KyselyPlugin } from 'kysely';
import { rawPart } from '../src/db/statement-parts.ts';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { StoredWebhook } from '../src/features/webhooks/webhook-store.ts';
import { createStores } from '../src/stores.ts';
import type { Stores } from '../src/stores.ts';
import { DIALECTS, describeDialect } from './helpers/test-database.ts';
import type { TestDatabase } from './helpers/test-database.ts';
import { storedWebhook } from './helpers/webhooks.ts';

const AT = '2026-11-25T08:00:00.000Z';

function webhook(name: string): StoredWebhook {
  return storedWebhook(name, AT);
}

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'statement parts', () => {
    let testDatabase: TestDatabase;
    let stores: Stores;
    let statements = 0;

    beforeEach(async () => {
      testDatabase = await dialect.create();
      const counting: KyselyPlugin = {
        transformQuery: (args) => args.node,
        transformResult: (args) => {
          statements += 1;
          return Promise.resolve(args.result);
        },
      };
      stores = createStores(testDatabase.database.db.withPlugin(counting));
    });

    afterEach(async () => {
      await testDatabase.dispose();
    });

    it("reads several stores' parts at once, each decoded and in its own order", async () => {
      // inserted out of order: the part orders them by name, as `list` does
      const names = Array.from({ length: 120 }, (_, i) => `hook-${(i * 37) % 120}`);
      for (const name of names) await stores.webhooks.insert(webhook(name));
      await stores.trust.insert({
        keyId: 'k1',
        name: 'build',
        publicKeyPem: 'PEM',
        addedAt: AT,
        addedBy: 'admin',
      });

      statements = 0;
      const [hooks, missing, keys, none] = await stores.statements.read([
        stores.webhooks.listPart(),
        stores.builds.findPart('bld_missing'),
        stores.trust.listPart(),
        stores.packs.findByDigestsPart([]),
      ]);
      if (dialect.name === 'postgres') expect(statements).toBe(1);

      expect(hooks).toEqual(await stores.webhooks.list());
      expect(hooks.map((h) => h.name)).toEqual([...names].sort());
      expect(hooks[0]).toEqual(webhook(hooks[0]?.name ?? ''));
      expect(missing).toBeNull();
      expect(keys).toEqual(await stores.trust.list());
      expect(none.size).toBe(0);
    });

    it('writes parts as one statement, and none of them when one fails', async () => {
      await stores.webhooks.insert(webhook('taken'));
      const deliveries = (id: string) => ({
        id,
        subscriptionId: 'whk_taken',
        eventId: `evt_${id}`,
        eventType: 'release.paused',
        payloadJson: '{}',
        status: 'pending' as const,
        attempts: 0,
        nextAttemptAt: AT,
        lastStatusCode: null,
        lastError: null,
        createdAt: AT,
        finishedAt: null,
      });

      statements = 0;
      await stores.statements.write([
        ...stores.webhooks.enqueueParts([deliveries('whd_1')]),
        ...stores.webhooks.enqueueParts([deliveries('whd_2')]),
      ]);
      if (dialect.name === 'postgres') expect(statements).toBe(1);
      // newest first
      expect((await stores.webhooks.listDeliveries('whk_taken', 10)).map((d) => d.id)).toEqual([
        'whd_2',
        'whd_1',
      ]);

      // the second part names a subscription that does not exist: nothing of the write is kept
      await expect(
        stores.transaction((tx) =>
          tx.statements.write([
            ...tx.webhooks.enqueueParts([deliveries('whd_3')]),
            ...tx.webhooks.enqueueParts([{ ...deliveries('whd_4'), subscriptionId: 'whk_none' }]),
          ]),
        ),
      ).rejects.toThrow();
      expect(await stores.webhooks.listDeliveries('whk_taken', 10)).toHaveLength(2);
    });

    it('fails a write whose checked part changed no row, after running it, and keeps nothing', async () => {
      await stores.webhooks.insert(webhook('taken'));
      const { db } = testDatabase.database;
      // a version-checked update: changes the row only while its url is still `url`
      const checked = (url: string) => ({
        query: rawPart(
          db,
          sql`update webhook_subscriptions set url = 'https://moved.example' where name = 'taken' and url = ${url} returning id`,
        ),
        refused: () => new Error(`moved already (${url})`),
      });
      const other = (name: string) =>
        db.insertInto('webhook_subscriptions').values({
          id: `whk_${name}`,
          name,
          url: 'https://hooks.example',
          format: 'json',
          events_json: '[]',
          secret: 's',
          created_at: AT,
          created_by: 'admin',
        });
      const names = async () => (await stores.webhooks.list()).map((h) => h.name);
      const stale = 'https://stale.example';

      await expect(
        stores.transaction((tx) => tx.statements.write([checked(stale), other('second')])),
      ).rejects.toThrow(`moved already (${stale})`);
      expect(await names()).toEqual(['taken']);

      const current = (await stores.webhooks.list())[0]?.url ?? '';
      statements = 0;
      await stores.transaction((tx) => tx.statements.write([checked(current), other('second')]));
      if (dialect.name === 'postgres') expect(statements).toBe(1);
      expect(await names()).toEqual(['second', 'taken']);
      expect((await stores.webhooks.list())[1]?.url).toBe('https://moved.example');
    });
  });
}
