import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { loadServerConfig } from '../src/config.ts';
import type { ServerConfig } from '../src/config.ts';
import { startServer } from '../src/server.ts';
import type { RunningServer } from '../src/server.ts';
import { createStores } from '../src/stores.ts';
import { DIALECTS, describeDialect } from './helpers/test-database.ts';
import type { TestDatabase } from './helpers/test-database.ts';

const ENV_TOKEN = 'an-operator-chosen-admin-token';

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'startServer', () => {
    let testDatabase: TestDatabase;
    const running: RunningServer[] = [];

    beforeEach(async () => {
      testDatabase = await dialect.create();
    });

    afterEach(async () => {
      await Promise.all(running.splice(0).map((server) => server.close()));
      await testDatabase.dispose();
    });

    const configWith = (env: Record<string, string> = {}): ServerConfig => {
      const { config } = testDatabase;
      return loadServerConfig(
        {
          data: config.dataDir,
          db: config.database.dialect === 'postgres' ? config.database.url : config.database.path,
          port: 0,
          logLevel: 'silent',
        },
        env,
      );
    };
    const start = async (config: ServerConfig): Promise<RunningServer> => {
      const server = await startServer(config);
      running.push(server);
      return server;
    };
    const packsWith = (server: RunningServer, token: string) =>
      fetch(`${server.url}/api/v1/packs`, { headers: { authorization: `Bearer ${token}` } });

    it('listens on a free port and serves /healthz over HTTP', async () => {
      const server = await start(configWith());
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(server.url).not.toMatch(/:0$/);
      const response = await fetch(`${server.url}/healthz`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ status: 'ok' });
    });

    it('refuses with ADDRESS_IN_USE when another server holds the port, and keeps the first serving', async () => {
      const first = await start(configWith());
      const port = Number(new URL(first.url).port);
      const taken = { ...configWith(), port };
      await expect(startServer(taken)).rejects.toMatchObject({ code: 'ADDRESS_IN_USE' });
      expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
    });

    it('generates an admin token on first start and writes it to DATA/admin-token with mode 0600', async () => {
      const server = await start(configWith());
      const token = server.generatedAdminToken;
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const file = join(testDatabase.dataDir, 'admin-token');
      expect(await readFile(file, 'utf8')).toBe(token);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect((await packsWith(server, token ?? '')).status).toBe(200);
      expect((await packsWith(server, 'wrong-token')).status).toBe(401);
    });

    it('generates nothing on a later start, and the first token keeps working', async () => {
      const first = await start(configWith());
      await first.close();
      const second = await start(configWith());
      expect(second.generatedAdminToken).toBeNull();
      expect((await packsWith(second, first.generatedAdminToken ?? '')).status).toBe(200);
    });

    it('uses LOCKGATE_ADMIN_TOKEN as the first admin token without generating one', async () => {
      const server = await start(configWith({ LOCKGATE_ADMIN_TOKEN: ENV_TOKEN }));
      expect(server.generatedAdminToken).toBeNull();
      expect(await readFile(join(testDatabase.dataDir, 'admin-token'), 'utf8')).toBe(ENV_TOKEN);
      expect((await packsWith(server, ENV_TOKEN)).status).toBe(200);
    });

    it('adds a new LOCKGATE_ADMIN_TOKEN on a later start, once', async () => {
      const first = await start(configWith());
      await first.close();
      const second = await start(configWith({ LOCKGATE_ADMIN_TOKEN: ENV_TOKEN }));
      await second.close();
      const third = await start(configWith({ LOCKGATE_ADMIN_TOKEN: ENV_TOKEN }));
      expect((await packsWith(third, ENV_TOKEN)).status).toBe(200);
      expect((await packsWith(third, first.generatedAdminToken ?? '')).status).toBe(200);
      const stores = createStores(testDatabase.database.db);
      expect(await stores.tokens.countActive()).toBe(2);
    });

    it('writes the channel-index public key to DATA/index-signing.pub, the key GET /server/keys lists', async () => {
      const server = await start(configWith({ LOCKGATE_ADMIN_TOKEN: ENV_TOKEN }));
      const pem = await readFile(join(testDatabase.dataDir, 'index-signing.pub'), 'utf8');
      expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
      const response = await fetch(`${server.url}/api/v1/server/keys`, {
        headers: { authorization: `Bearer ${ENV_TOKEN}` },
      });
      const { items } = (await response.json()) as {
        items: { publicKeyPem: string; use: string }[];
      };
      expect(items).toEqual([expect.objectContaining({ publicKeyPem: pem, use: 'channel-index' })]);
      await server.close();
      const again = await start(configWith());
      await again.close();
      expect(await readFile(join(testDatabase.dataDir, 'index-signing.pub'), 'utf8')).toBe(pem);
    });

    it('closes idempotently and stops answering', async () => {
      const server = await start(configWith());
      await server.close();
      await server.close();
      await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    });
  });
}
