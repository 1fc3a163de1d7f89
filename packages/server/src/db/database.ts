import { chmod, mkdir, open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import type { MigrationResult } from 'kysely/migration';
import { Pool } from 'pg';
import type { ServerConfig } from '../config.ts';
import { migrationProvider } from './migrations/index.ts';
import type { Database } from './schema.ts';
import { storableTextPlugin } from './storable-text.ts';
import { openSqliteFile, sqliteKysely, SqliteTurns } from './sqlite-dialect.ts';

export type DialectName = 'sqlite' | 'postgres';

export interface OpenDatabase {
  readonly db: Kysely<Database>;
  readonly dialect: DialectName;
  /**
   * SQLite: the file, and the turns at it that every query and transaction of `db` takes (for
   * another connection of this process to take its own: the report writer).
   */
  readonly sqlite?: { readonly path: string; readonly turns: SqliteTurns };
  /** Closes the connection or pool. Safe to call more than once. */
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** Errors of idle PostgreSQL pool clients (server restarts); without it they are ignored. */
  onPoolError?: (error: Error) => void;
}

/** Opens the configured database and applies every pending migration before returning. */
export async function openDatabase(
  config: Pick<ServerConfig, 'database'>,
  options: OpenDatabaseOptions = {},
): Promise<OpenDatabase> {
  const { db, dialect, turns } = await connect(config.database, options);
  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => (closed ??= db.destroy());
  try {
    await migrateToLatest(db);
  } catch (error) {
    await close();
    throw error;
  }
  return config.database.dialect === 'sqlite' && turns !== undefined
    ? { db, dialect, sqlite: { path: config.database.path, turns }, close }
    : { db, dialect, close };
}

async function connect(
  database: ServerConfig['database'],
  options: OpenDatabaseOptions,
): Promise<{ db: Kysely<Database>; dialect: DialectName; turns?: SqliteTurns }> {
  if (database.dialect === 'postgres') {
    const pool = new Pool({ connectionString: database.url, max: 10 });
    pool.on('error', (error) => options.onPoolError?.(error));
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool }),
      plugins: [storableTextPlugin],
    });
    return { db, dialect: 'postgres' };
  }
  await mkdir(dirname(database.path), { recursive: true, mode: 0o700 });
  await makeSqliteFilesPrivate(database.path);
  const sqlite = await openSqliteFile(database.path);
  try {
    await makeSqliteFilesPrivate(database.path);
  } catch (error) {
    sqlite.close();
    throw error;
  }
  const turns = new SqliteTurns();
  const db = sqliteKysely(sqlite, turns);
  return { db, dialect: 'sqlite', turns };
}

/** The SQLite file and the companions SQLite creates beside it (WAL mode). */
const SQLITE_COMPANIONS = ['', '-wal', '-shm', '-journal'] as const;

/**
 * The SQLite file holds the channel-index signing private key (server_keys): it and its WAL
 * companions are readable by the server's user only (0600), whatever the umask and whatever
 * the mode an older version left. The database file is created 0600 before SQLite opens it,
 * and SQLite creates `-wal` and `-shm` with the database file's mode; existing files are
 * chmod-ed.
 */
async function makeSqliteFilesPrivate(path: string): Promise<void> {
  const file = await open(path, 'a', 0o600);
  await file.close();
  for (const suffix of SQLITE_COMPANIONS) {
    let mode: number;
    try {
      mode = (await stat(`${path}${suffix}`)).mode;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    if ((mode & 0o077) !== 0) await chmod(`${path}${suffix}`, 0o600);
  }
}

/** Applies pending migrations; throws with the failing migration's name. */
export async function migrateToLatest(db: Kysely<Database>): Promise<MigrationResult[]> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results.find((result) => result.status === 'Error');
    throw new Error(
      `Database migration ${failed === undefined ? '' : `${failed.migrationName} `}failed`,
      { cause: error },
    );
  }
  return results;
}

/** Resolves when the database answers a trivial query. */
export async function pingDatabase(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}
