import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import { createBlobStore } from './blob-store.ts';
import { systemClock } from './clock.ts';
import type { ServerConfig } from './config.ts';
import { openDatabase } from './db/database.ts';
import { createServices } from './services.ts';
import { createStores } from './stores.ts';

export interface RunningServer {
  app: FastifyInstance;
  /** e.g. http://127.0.0.1:7070, with the real port when config.port is 0 */
  url: string;
  /** The admin token generated on first start (also in DATA/admin-token), else null. */
  generatedAdminToken: string | null;
  /** Stops listening, then closes the database. Safe to call more than once. */
  close(): Promise<void>;
}

/** Opens the database (migrating it), makes sure an admin token exists, and listens. */
export async function startServer(config: ServerConfig): Promise<RunningServer> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const database = await openDatabase(config);
  let app: FastifyInstance | null = null;
  try {
    const stores = createStores(database.db);
    const blobs = createBlobStore(join(config.dataDir, 'blobs'));
    const services = createServices(config, stores, blobs, systemClock);
    const { generatedAdminToken } = await services.tokens.bootstrap();
    const started = buildApp({ config, services });
    app = started;
    await started.listen({ host: config.host, port: config.port });
    let closing: Promise<void> | null = null;
    return {
      app: started,
      url: urlOf(started, config.host),
      generatedAdminToken,
      close: () =>
        (closing ??= (async () => {
          try {
            await started.close();
          } finally {
            await database.close();
          }
        })()),
    };
  } catch (error) {
    await app?.close();
    await database.close();
    throw error;
  }
}

function urlOf(app: FastifyInstance, configuredHost: string): string {
  const address = app.server.address() as AddressInfo;
  const wildcard = configuredHost === '0.0.0.0' || configuredHost === '::';
  const host = wildcard ? (address.family === 'IPv6' ? '::1' : '127.0.0.1') : address.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}
