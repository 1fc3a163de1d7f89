import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { LockgateError } from '@lockgate/core';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import { createBlobStore } from './blob-store.ts';
import { systemClock } from './clock.ts';
import type { ServerConfig } from './config.ts';
import { createSignInCodes } from './features/console/index.ts';
import { startReportBatchWriter } from './features/targets/index.ts';
import type { ReportBatchWriter } from './features/targets/index.ts';
import { openDatabase } from './db/database.ts';
import { createServices } from './services.ts';
import type { Services } from './services.ts';
import { createStores } from './stores.ts';

export interface RunningServer {
  app: FastifyInstance;
  /** e.g. http://127.0.0.1:7070, with the real port when config.port is 0 */
  url: string;
  /** The admin token generated on first start (also in DATA/admin-token), else null. */
  generatedAdminToken: string | null;
  /**
   * With a generated admin token: the console link that signs in as it, once, within 15 minutes
   * (`URL/sign-in#code=…`: the code stays out of server logs and Referer headers). Else null.
   */
  signInUrl: string | null;
  /** Stops the controller, stops listening, then closes the database. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Opens the database (migrating it), makes sure an admin token and the channel-index signing key
 * exist (writing DATA/index-signing.pub), listens, and starts the release controller.
 */
export async function startServer(config: ServerConfig): Promise<RunningServer> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const database = await openDatabase(config);
  let app: FastifyInstance | null = null;
  let servicesStarted: Services | null = null;
  let reportWriter: ReportBatchWriter | undefined;
  const closeDatabase = async (): Promise<void> => {
    await reportWriter?.close();
    await database.close();
  };
  try {
    if (database.sqlite !== undefined) {
      reportWriter = await startReportBatchWriter(database.db, database.sqlite);
    }
    const stores = createStores(database.db, reportWriter === undefined ? {} : { reportWriter });
    const blobs = createBlobStore(join(config.dataDir, 'blobs'));
    const services = createServices(config, stores, blobs, systemClock, {
      onControllerError: (error, context) =>
        app?.log.error({ err: error, ...context }, 'controller step failed'),
    });
    servicesStarted = services;
    const { generatedAdminToken } = await services.tokens.bootstrap();
    await services.serverKeys.bootstrap();
    const signInCodes = createSignInCodes(systemClock);
    const started = buildApp({ config, services, signInCodes, compileAtStart: true });
    app = started;
    await listenOn(started, config);
    services.controller.start();
    services.webhooks.worker.start();
    services.operations.start();
    let closing: Promise<void> | null = null;
    const url = urlOf(started, config.host);
    return {
      app: started,
      url,
      generatedAdminToken,
      signInUrl:
        generatedAdminToken === null
          ? null
          : `${url}/sign-in#code=${signInCodes.issue(generatedAdminToken)}`,
      close: () =>
        (closing ??= (async () => {
          try {
            await services.close();
            await started.close();
          } finally {
            await closeDatabase();
          }
        })()),
    };
  } catch (error) {
    await servicesStarted?.close();
    await app?.close();
    await closeDatabase();
    throw error;
  }
}

function urlOf(app: FastifyInstance, configuredHost: string): string {
  const address = app.server.address() as AddressInfo;
  const wildcard = configuredHost === '0.0.0.0' || configuredHost === '::';
  const host = wildcard ? (address.family === 'IPv6' ? '::1' : '127.0.0.1') : address.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

/** Listens on the configured address; an address in use is ADDRESS_IN_USE, not a crash. */
async function listenOn(app: FastifyInstance, config: ServerConfig): Promise<void> {
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    throw new LockgateError(
      'ADDRESS_IN_USE',
      `Cannot listen on ${config.host}:${config.port}: the address is in use (is another server running?).`,
      { cause: error, details: { host: config.host, port: config.port } },
    );
  }
}
