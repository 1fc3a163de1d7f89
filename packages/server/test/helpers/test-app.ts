import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { createBlobStore } from '../../src/blob-store.ts';
import type { BlobStore } from '../../src/blob-store.ts';
import type { Clock } from '../../src/clock.ts';
import type { ServerConfig, ServerConfigFlags } from '../../src/config.ts';
import type { SignInCodes } from '../../src/features/console/sign-in-codes.ts';
import { createServices } from '../../src/services.ts';
import type { ServiceOptions, Services } from '../../src/services.ts';
import { createStores } from '../../src/stores.ts';
import type { Stores } from '../../src/stores.ts';
import type { TestDatabase, TestDialect } from './test-database.ts';

export interface TestApp {
  app: FastifyInstance;
  config: ServerConfig;
  stores: Stores;
  services: Services;
  blobs: BlobStore;
  testDatabase: TestDatabase;
  /** The bootstrap admin token. */
  token: string;
  /** Headers carrying the admin token. */
  auth: { authorization: string };
  close(): Promise<void>;
}

/** A clock that starts at a fixed time and moves one second per reading. */
export function steppingClock(start = '2026-01-01T00:00:00.000Z'): Clock {
  let next = Date.parse(start);
  return () => {
    const now = new Date(next);
    next += 1000;
    return now;
  };
}

/** A clock the test moves by hand: it stands still between calls to set() and advance(). */
export interface ManualClock {
  clock: Clock;
  now(): Date;
  set(iso: string): void;
  advance(seconds: number): void;
}

export function manualClock(start = '2026-01-01T00:00:00.000Z'): ManualClock {
  let current = Date.parse(start);
  return {
    clock: () => new Date(current),
    now: () => new Date(current),
    set(iso) {
      current = Date.parse(iso);
    },
    advance(seconds) {
      current += seconds * 1000;
    },
  };
}

export interface TestAppOptions {
  /** the services' clock (default: a stepping clock, one second per reading) */
  clock?: Clock;
  /** the controller's holder id */
  holder?: string;
  sseHeartbeatMs?: number;
  eventsPollMs?: number;
  /** console sign-in codes (default: a fresh set) */
  signInCodes?: SignInCodes;
  /** the built console to serve (default packages/web/dist) */
  consoleDir?: string;
  /** webhook delivery settings (the worker is started only when a test starts it) */
  webhooks?: ServiceOptions['webhooks'];
  /** sizes of the reports' group-commit queue */
  reportQueue?: ServiceOptions['reportQueue'];
}

/** A fresh database, services with a stepping clock, a bootstrapped admin token, and the app. */
export async function createTestApp(
  dialect: TestDialect,
  flags: Omit<ServerConfigFlags, 'data' | 'db'> = {},
  options: TestAppOptions = {},
): Promise<TestApp> {
  const testDatabase = await dialect.create(flags);
  const { config } = testDatabase;
  const stores = createStores(testDatabase.database.db);
  const blobs = createBlobStore(join(config.dataDir, 'blobs'));
  const services = createServices(config, stores, blobs, options.clock ?? steppingClock(), {
    ...(options.holder === undefined ? {} : { holder: options.holder }),
    ...(options.eventsPollMs === undefined ? {} : { eventsPollMs: options.eventsPollMs }),
    ...(options.webhooks === undefined ? {} : { webhooks: options.webhooks }),
    ...(options.reportQueue === undefined ? {} : { reportQueue: options.reportQueue }),
  });
  const { generatedAdminToken } = await services.tokens.bootstrap();
  if (generatedAdminToken === null) throw new Error('expected a generated admin token');
  const app = buildApp({
    config,
    services,
    ...(options.sseHeartbeatMs === undefined ? {} : { sseHeartbeatMs: options.sseHeartbeatMs }),
    ...(options.signInCodes === undefined ? {} : { signInCodes: options.signInCodes }),
    ...(options.consoleDir === undefined ? {} : { consoleDir: options.consoleDir }),
  });
  await app.ready();
  return {
    app,
    config,
    stores,
    services,
    blobs,
    testDatabase,
    token: generatedAdminToken,
    auth: { authorization: `Bearer ${generatedAdminToken}` },
    async close() {
      await services.close();
      await app.close();
      await testDatabase.dispose();
    },
  };
}
