import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { createBlobStore } from '../src/blob-store.ts';
import { openDatabase } from '../src/db/database.ts';
import type { OpenDatabase } from '../src/db/database.ts';
import { createServices } from '../src/services.ts';
import type { Services } from '../src/services.ts';
import { createStores } from '../src/stores.ts';
import { eventually } from './helpers/server-process.ts';
import { createTestApp, steppingClock } from './helpers/test-app.ts';
import type { TestApp } from './helpers/test-app.ts';
import { DIALECTS, describeDialect } from './helpers/test-database.ts';

/** A second replica of `one`: its own pool, services (event hub, caches, listener) and app. */
interface Replica {
  app: FastifyInstance;
  services: Services;
  database: OpenDatabase;
  close(): Promise<void>;
}

// Long enough that no poll can be what a test sees: only the LISTEN/NOTIFY feed is left.
const NO_POLL_MS = 600_000;

async function replicaOf(one: TestApp, holder: string): Promise<Replica> {
  const database = await openDatabase(one.config);
  const services = createServices(
    one.config,
    createStores(database.db),
    createBlobStore(join(one.config.dataDir, 'blobs')),
    steppingClock(),
    { holder, eventsPollMs: NO_POLL_MS, cacheMaxAgeMs: NO_POLL_MS },
  );
  const app = buildApp({ config: one.config, services });
  await app.ready();
  return {
    app,
    services,
    database,
    async close() {
      await services.close();
      await app.close();
      await database.close();
    },
  };
}

const postgres = DIALECTS.filter((dialect) => dialect.name === 'postgres');

for (const dialect of postgres) {
  describeDialect(dialect, 'replicas on one PostgreSQL learn changes through LISTEN/NOTIFY', () => {
    let one: TestApp;
    let two: Replica;

    beforeEach(async () => {
      one = await createTestApp(dialect);
      two = await replicaOf(one, 'replica-two');
      // Both listeners are up (LISTEN ran) before a test changes anything.
      await eventually('both replicas to listen', 10_000, async () => {
        const { rows } = await sql<{ n: string }>`
          select count(*) as n from pg_stat_activity
          where datname = current_database() and application_name like 'lockgate-changes %'
            and state = 'idle'`.execute(one.testDatabase.database.db);
        return Number(rows[0]?.n) >= 2 ? true : null;
      });
    });

    afterEach(async () => {
      await two.close();
      await one.close();
    });

    it('catches up on a change its listener missed once it listens again', async () => {
      const created = await one.app.inject({
        method: 'POST',
        url: '/api/v1/tokens',
        headers: one.auth,
        payload: { name: 'reader', role: 'viewer' },
      });
      expect(created.statusCode).toBe(201);
      const { secret } = created.json<{ secret: string }>();
      const read = async (): Promise<number> =>
        (
          await two.app.inject({
            method: 'GET',
            url: '/api/v1/environments',
            headers: { authorization: `Bearer ${secret}` },
          })
        ).statusCode;
      expect(await read()).toBe(200);
      const db = one.testDatabase.database.db;
      // A revocation no notification announces (triggers off for this transaction): what a
      // replica misses while its listener is disconnected.
      await db.transaction().execute(async (tx) => {
        await sql`set local session_replication_role = replica`.execute(tx);
        await sql`update api_tokens set revoked_at = ${new Date().toISOString()}
          where name = 'reader'`.execute(tx);
      });
      expect(await read()).toBe(200);
      // Cut replica two's listener; it reconnects, and catches up before trusting its memory.
      await sql`select pg_terminate_backend(pid) from pg_stat_activity
        where application_name = 'lockgate-changes replica-two'`.execute(db);
      await eventually('replica two to refuse the token', 10_000, async () =>
        (await read()) === 401 ? true : null,
      );
    });

    it('reads a target moved to another channel by one replica from that channel on another', async () => {
      const call = (app: FastifyInstance, method: 'GET' | 'PUT', url: string, payload?: object) =>
        app.inject({
          method,
          url: `/api/v1${url}`,
          headers: one.auth,
          ...(payload === undefined ? {} : { payload }),
        });
      expect((await call(one.app, 'PUT', '/environments/prod', {})).statusCode).toBe(201);
      expect(
        (await call(one.app, 'PUT', '/environments/prod/channels/stable', {})).statusCode,
      ).toBe(201);
      expect((await call(one.app, 'PUT', '/environments/prod/channels/beta', {})).statusCode).toBe(
        201,
      );
      // beta's index is at version 2, stable's at 1.
      expect(
        (await call(one.app, 'PUT', '/environments/prod/channels/beta', { floor: 1 })).statusCode,
      ).toBe(200);
      const register = (channel: string) =>
        call(one.app, 'PUT', '/targets/host-1', { env: 'prod', channel, labels: {} });
      expect((await register('stable')).statusCode).toBeLessThan(300);
      const versionOnTwo = async (): Promise<number> =>
        (await call(two.app, 'GET', '/targets/host-1/desired')).json<{ indexVersion: number }>()
          .indexVersion;
      // Replica two reads the target once and keeps its row (its poll would not ask for 10 min).
      expect(await versionOnTwo()).toBe(1);
      expect(await versionOnTwo()).toBe(1);
      expect((await register('beta')).statusCode).toBe(200);
      await eventually('replica two to read the target in beta', 10_000, async () =>
        (await versionOnTwo()) === 2 ? true : null,
      );
    });

    it('wakes the event streams on one replica when another publishes an index version', async () => {
      const put = (floor: number) =>
        one.app.inject({
          method: 'PUT',
          url: '/api/v1/environments/prod/channels/stable',
          headers: one.auth,
          payload: floor === 0 ? {} : { floor },
        });
      expect(
        (
          await one.app.inject({
            method: 'PUT',
            url: '/api/v1/environments/prod',
            headers: one.auth,
            payload: {},
          })
        ).statusCode,
      ).toBe(201);
      expect((await put(0)).statusCode).toBe(201);

      const address = await two.app.listen({ host: '127.0.0.1', port: 0 });
      const abort = new AbortController();
      const response = await fetch(`${address}/api/v1/channels/prod/stable/events`, {
        headers: one.auth,
        signal: abort.signal,
      });
      expect(response.status).toBe(200);
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
      try {
        await until(/event: index\ndata: \{"version":1\}\n\n/);
        expect(two.services.events.size()).toBe(1);
        expect((await put(1)).statusCode).toBe(200);
        await until(/data: \{"version":2\}/);
        // The check-in cache of replica two heard it too: its index is the new one.
        const index = await two.app.inject({
          method: 'GET',
          url: '/api/v1/channels/prod/stable/index',
          headers: one.auth,
        });
        expect(index.headers['etag']).toBe('"2"');
      } finally {
        abort.abort();
        await reader.cancel().catch(() => undefined);
      }
    }, 20_000);
  });
}
