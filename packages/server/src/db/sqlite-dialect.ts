import { AsyncLocalStorage } from 'node:async_hooks';
import { CompiledQuery, Kysely, SqliteDialect, SqliteDriver } from 'kysely';
import type {
  DatabaseConnection,
  Driver,
  SqliteDatabase,
  SqliteDialectConfig,
  SqliteStatement,
} from 'kysely';
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import type { Database } from './schema.ts';
import { storableTextPlugin } from './storable-text.ts';

/** How long a statement waits for another process's write lock before SQLITE_BUSY. */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;

const STATEMENT_CACHE_SIZE = 128;

/**
 * Sets the pragmas every Lockgate SQLite connection runs with: WAL (readers never block the
 * writer), synchronous=FULL (a committed decision survives power loss, not only a crash),
 * foreign keys on, and a busy timeout for other processes holding the write lock.
 */
export function configureSqlite(database: DatabaseSync): void {
  database.exec('PRAGMA journal_mode = WAL');
  database.exec('PRAGMA synchronous = FULL');
  database.exec('PRAGMA foreign_keys = ON');
  database.exec(`PRAGMA busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
}

/**
 * Opens a connection to the SQLite file with `configureSqlite`'s pragmas (closed again when they
 * fail). `node:sqlite` is loaded here, on demand: PostgreSQL deployments never load it.
 */
export async function openSqliteFile(path: string): Promise<DatabaseSync> {
  const { DatabaseSync } = await import('node:sqlite');
  const database = new DatabaseSync(path, {
    timeout: SQLITE_BUSY_TIMEOUT_MS,
    enableForeignKeyConstraints: true,
  });
  try {
    configureSqlite(database);
  } catch (error) {
    database.close();
    throw error;
  }
  return database;
}

/** Kysely over a connection `openSqliteFile` opened, as every Lockgate connection runs. */
export function sqliteKysely(database: DatabaseSync, turns?: SqliteTurns): Kysely<Database> {
  return new Kysely<Database>({
    dialect: createSqliteDialect(database, turns),
    plugins: [storableTextPlugin],
  });
}

/** Marks the async context of an operator's command (`aheadInLine`). */
const ahead = new AsyncLocalStorage<true>();

/**
 * Runs an operator's command so that on SQLite its turns at the file come before the turns
 * already waiting for it (the controller's, the report writer's batches, other requests'), after
 * other commands' waiting turns and the turn being held. Commands are few and short; what waits
 * behind one waits for one transaction more. A no-op elsewhere (PostgreSQL has no turns).
 */
export function aheadInLine<T>(task: () => Promise<T>): Promise<T> {
  return ahead.run(true, task);
}

/**
 * Turns at one SQLite file between the connections of this process, taken in the order asked
 * for, except that a turn asked for inside `aheadInLine` goes before the others waiting. A
 * connection that takes a turn for everything it runs never waits on another's write lock with
 * the event loop blocked (SQLite's busy wait is synchronous): it waits here, asynchronously.
 */
export class SqliteTurns {
  #held = false;
  readonly #waiting: { ahead: boolean; start: () => void }[] = [];

  /** Resolves, when it is this caller's turn, to the function that ends the turn. */
  take(): Promise<() => void> {
    return new Promise((resolve) => {
      const start = (): void => {
        this.#held = true;
        let ended = false;
        resolve(() => {
          if (ended) return;
          ended = true;
          this.#next();
        });
      };
      if (!this.#held) {
        start();
        return;
      }
      const first = ahead.getStore() === true;
      const at = first ? this.#waiting.findIndex((waiter) => !waiter.ahead) : -1;
      this.#waiting.splice(at === -1 ? this.#waiting.length : at, 0, { ahead: first, start });
    });
  }

  #next(): void {
    const waiter = this.#waiting.shift();
    if (waiter === undefined) this.#held = false;
    else waiter.start();
  }

  /** Runs the task in a turn of its own. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    const end = await this.take();
    try {
      return await task();
    } finally {
      end();
    }
  }
}

/**
 * A Kysely dialect over a `node:sqlite` DatabaseSync. Kysely closes the database on destroy().
 * With `turns`, every query and transaction of the connection runs in a turn of its own.
 */
export function createSqliteDialect(database: DatabaseSync, turns?: SqliteTurns): SqliteDialect {
  return new NodeSqliteDialect({ database: new NodeSqliteDatabase(database) }, turns);
}

class NodeSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  readonly #turns: SqliteTurns | undefined;

  constructor(config: SqliteDialectConfig, turns: SqliteTurns | undefined) {
    super(config);
    this.#config = config;
    this.#turns = turns;
  }

  override createDriver(): Driver {
    return new ImmediateTransactionSqliteDriver(this.#config, this.#turns);
  }
}

/**
 * Kysely's driver opens transactions with a deferred `begin`, which can fail with SQLITE_BUSY
 * when two processes both upgrade from read to write. `begin immediate` takes the write lock
 * up front, so the busy timeout applies and read-then-write transactions stay serial.
 *
 * With turns, the one connection is held (from Kysely's acquire to its release: a query, or a
 * whole transaction) only in a turn. Kysely lets one caller hold it at a time (SQLite's adapter
 * has no multiple connections), so one turn is held at a time.
 */
class ImmediateTransactionSqliteDriver extends SqliteDriver {
  readonly #turns: SqliteTurns | undefined;
  #endTurn: (() => void) | null = null;

  constructor(config: SqliteDialectConfig, turns: SqliteTurns | undefined) {
    super(config);
    this.#turns = turns;
  }

  override async acquireConnection(
    ...args: Parameters<SqliteDriver['acquireConnection']>
  ): Promise<DatabaseConnection> {
    if (this.#turns === undefined) return super.acquireConnection(...args);
    const end = await this.#turns.take();
    try {
      const connection = await super.acquireConnection(...args);
      this.#endTurn = end;
      return connection;
    } catch (error) {
      end();
      throw error;
    }
  }

  override async releaseConnection(
    ...args: Parameters<SqliteDriver['releaseConnection']>
  ): Promise<void> {
    const end = this.#endTurn;
    this.#endTurn = null;
    try {
      await super.releaseConnection(...args);
    } finally {
      end?.();
    }
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

/** DatabaseSync seen through Kysely's SqliteDatabase interface, with a small statement cache. */
class NodeSqliteDatabase implements SqliteDatabase {
  readonly #database: DatabaseSync;
  readonly #statements = new Map<string, NodeSqliteStatement>();

  constructor(database: DatabaseSync) {
    this.#database = database;
  }

  prepare(sql: string): SqliteStatement {
    const cached = this.#statements.get(sql);
    if (cached !== undefined) {
      // Refresh its place in the least-recently-used order.
      this.#statements.delete(sql);
      this.#statements.set(sql, cached);
      return cached;
    }
    const statement = new NodeSqliteStatement(this.#database.prepare(sql));
    this.#statements.set(sql, statement);
    if (this.#statements.size > STATEMENT_CACHE_SIZE) {
      const oldest = this.#statements.keys().next();
      if (oldest.done !== true) this.#statements.delete(oldest.value);
    }
    return statement;
  }

  close(): void {
    this.#statements.clear();
    if (this.#database.isOpen) this.#database.close();
  }
}

class NodeSqliteStatement implements SqliteStatement {
  /** True when the statement returns rows (SELECT, RETURNING, some PRAGMAs). */
  readonly reader: boolean;
  readonly #statement: StatementSync;

  constructor(statement: StatementSync) {
    this.#statement = statement;
    this.reader = statement.columns().length > 0;
  }

  all(parameters: ReadonlyArray<unknown>): unknown[] {
    return this.#statement.all(...toSqliteValues(parameters));
  }

  run(parameters: ReadonlyArray<unknown>): {
    changes: number | bigint;
    lastInsertRowid: number | bigint;
  } {
    const { changes, lastInsertRowid } = this.#statement.run(...toSqliteValues(parameters));
    return { changes, lastInsertRowid };
  }

  iterate(parameters: ReadonlyArray<unknown>): IterableIterator<unknown> {
    return this.#statement.iterate(...toSqliteValues(parameters));
  }
}

function toSqliteValues(parameters: ReadonlyArray<unknown>): SQLInputValue[] {
  return parameters.map(toSqliteValue);
}

function toSqliteValue(value: unknown): SQLInputValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') {
    return value;
  }
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return value;
  throw new TypeError(`SQLite cannot bind a parameter of type ${typeof value}`);
}
