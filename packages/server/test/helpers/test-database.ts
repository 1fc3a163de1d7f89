import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe } from 'vitest';
import { loadServerConfig } from '../../src/config.ts';
import type { ServerConfig, ServerConfigFlags } from '../../src/config.ts';
import { openDatabase } from '../../src/db/database.ts';
import type { DialectName, OpenDatabase } from '../../src/db/database.ts';

export const DEFAULT_CI_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh, migrated, empty database with its own temporary data directory. */
export interface TestDatabase {
  readonly dialect: DialectName;
  readonly config: ServerConfig;
  readonly database: OpenDatabase;
  readonly dataDir: string;
  /** Closes the database, drops it (PostgreSQL) and removes the data directory. */
  dispose(): Promise<void>;
}

export interface TestDialect {
  readonly name: DialectName;
  /** null when the dialect runs here; else why its suites are skipped. */
  readonly skipReason: string | null;
  /** Flags are passed to loadServerConfig (data and db are set by the dialect). */
  create(flags?: Omit<ServerConfigFlags, 'data' | 'db'>): Promise<TestDatabase>;
}

/**
 * The PostgreSQL admin URL for store suites: LOCKGATE_TEST_POSTGRES_URL, or the local default
 * when CI=true; null when neither is set.
 */
export function postgresAdminUrl(env: NodeJS.ProcessEnv = process.env): string | null {
  const url = env['LOCKGATE_TEST_POSTGRES_URL'];
  if (url !== undefined && url !== '') return url;
  return env['CI'] === 'true' ? DEFAULT_CI_POSTGRES_URL : null;
}

const sqlite: TestDialect = {
  name: 'sqlite',
  skipReason: null,
  async create(flags = {}) {
    const dataDir = await mkdtemp(join(tmpdir(), 'lockgate-test-'));
    const config = loadServerConfig({ logLevel: 'silent', ...flags, data: dataDir }, {});
    try {
      const database = await openDatabase(config);
      return {
        dialect: 'sqlite',
        config,
        database,
        dataDir,
        async dispose() {
          await database.close();
          await rm(dataDir, { recursive: true, force: true });
        },
      };
    } catch (error) {
      await rm(dataDir, { recursive: true, force: true });
      throw error;
    }
  },
};

function postgres(adminUrl: string | null): TestDialect {
  return {
    name: 'postgres',
    skipReason:
      adminUrl === null
        ? 'PostgreSQL store suite skipped: set LOCKGATE_TEST_POSTGRES_URL (or CI=true)'
        : null,
    async create(flags = {}) {
      if (adminUrl === null) throw new Error('PostgreSQL is not configured for tests');
      const name = `lockgate_test_${randomBytes(8).toString('hex')}`;
      await adminQuery(adminUrl, `create database "${name}"`);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      const dataDir = await mkdtemp(join(tmpdir(), 'lockgate-test-'));
      const drop = async (): Promise<void> => {
        await adminQuery(adminUrl, `drop database if exists "${name}" with (force)`);
        await rm(dataDir, { recursive: true, force: true });
      };
      try {
        const config = loadServerConfig(
          { logLevel: 'silent', ...flags, data: dataDir, db: url.toString() },
          {},
        );
        const database = await openDatabase(config);
        return {
          dialect: 'postgres',
          config,
          database,
          dataDir,
          async dispose() {
            await database.close();
            await drop();
          },
        };
      } catch (error) {
        await drop();
        throw error;
      }
    },
  };
}

async function adminQuery(adminUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** Every dialect a store suite runs on: SQLite always, PostgreSQL when configured. */
export const DIALECTS: readonly TestDialect[] = [sqlite, postgres(postgresAdminUrl())];

/** describe() for one dialect, or a visible skip when that dialect is not configured. */
export function describeDialect(dialect: TestDialect, title: string, suite: () => void): void {
  const fullTitle = `${title} (${dialect.name})`;
  if (dialect.skipReason === null) {
    describe(fullTitle, suite);
    return;
  }
  console.warn(`${fullTitle}: ${dialect.skipReason}`);
  describe.skip(fullTitle, suite);
}
