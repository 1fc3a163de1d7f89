/**
 * Reads and writes that stores hand out as parts instead of running them, so that a step which
 * touches several features' tables costs one round trip on PostgreSQL (ADR 0024): the parts
 * become the common table expressions of one statement (data-modifying ones included). On SQLite,
 * in process, a statement costs no round trip: the parts run one after another, in order.
 *
 * Invariants:
 * - The parts of one call see one snapshot on PostgreSQL and do not see each other's writes: a
 *   caller joins only parts that do not depend on each other (different rows; a row it locked
 *   in an earlier statement may be updated by one part).
 * - A write runs all of its parts or none (one statement, or the caller's transaction); a write
 *   whose parts carry more bound values than one PostgreSQL statement takes is split, in order,
 *   into as few statements as fit.
 * - A read's rows reach `decode` as the part's own statement returns them on SQLite and as JSON
 *   objects on PostgreSQL (`json_agg`: a 64-bit integer column comes back as a number, never a
 *   string), so a decoder reads numbers with `Number(…)`. A part's rows keep its own `order by`:
 *   `json_agg` over the rows of a sorted subquery aggregates them in that order (PostgreSQL's
 *   documented behaviour for aggregates without an `order by` of their own;
 *   `statement-parts.test.ts` reads 120 rows inserted out of order).
 */
import { PostgresAdapter, sql } from 'kysely';
import type { CompiledQuery, Kysely, OperationNodeSource, RawBuilder } from 'kysely';
import type { Database } from './schema.ts';

/** A query handed out to run later: alone, or joined with others. */
export interface QueryPart extends OperationNodeSource {
  compile(): CompiledQuery;
}

/** A write: an insert, update or delete (without `returning`). */
export type WritePart = QueryPart;

/** A write as `Statements.write` takes it. */
export type AnyWritePart = WritePart | CheckedWritePart;

/**
 * A write that must change a row (an update with a version check): its query returns the rows it
 * changed (`returning`), and when it changed none the write throws `refused()` after its
 * statement ran, so the caller's transaction, which every write runs in, rolls back whole.
 */
export interface CheckedWritePart {
  readonly query: QueryPart;
  refused(): Error;
}

/** A read: a query returning rows (a select, or an update that locks and returns its row). */
export interface ReadPart<T> {
  readonly query: QueryPart;
  decode(rows: readonly Record<string, unknown>[]): T;
}

export type Decoded<P extends readonly ReadPart<unknown>[]> = {
  -readonly [K in keyof P]: P[K] extends ReadPart<infer T> ? T : never;
};

export interface Statements {
  /** Runs the reads (one statement on PostgreSQL) and decodes each part's rows. */
  read<const P extends readonly ReadPart<unknown>[]>(parts: P): Promise<Decoded<P>>;
  /**
   * Runs `first` (a lock: an update that returns its row), then the reads `then` builds, in one
   * statement on PostgreSQL. A part of `then` that locks a row too waits for `first` by naming
   * `after` in its condition (`exists (after)`), so the two locks are always taken in that order
   * (the parts of one statement otherwise run in no set order). The other parts read the
   * statement's snapshot, which may be older than `first`'s row: only a locking part returns a
   * row as its last writer committed it.
   */
  readAfter<F, const P extends readonly ReadPart<unknown>[]>(
    first: ReadPart<F>,
    then: (after: RawBuilder<unknown>) => P,
  ): Promise<[F, ...Decoded<P>]>;
  /**
   * Runs the writes (one statement on PostgreSQL, unless their bound values need more); throws
   * a checked write's `refused()` when it changed no row.
   */
  write(parts: readonly AnyWritePart[]): Promise<void>;
}

/** PostgreSQL binds at most 65,535 values per statement; leave room for the joining text. */
const MAX_BOUND_VALUES = 65_000;

/** A raw query as a part, compiled against `db`. */
export function rawPart(db: Kysely<Database>, query: RawBuilder<unknown>): QueryPart {
  return { compile: () => query.compile(db), toOperationNode: () => query.toOperationNode() };
}

/** Runs one read part alone (a store's ordinary method over its part). */
export async function readOne<T>(db: Kysely<Database>, part: ReadPart<T>): Promise<T> {
  return part.decode((await db.executeQuery<Record<string, unknown>>(part.query.compile())).rows);
}

export function createStatements(db: Kysely<Database>): Statements {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;

  return {
    async read<const P extends readonly ReadPart<unknown>[]>(parts: P): Promise<Decoded<P>> {
      if (!postgres || parts.length === 1) {
        const decoded: unknown[] = [];
        for (const part of parts) decoded.push(await readOne(db, part));
        return decoded as Decoded<P>;
      }
      return readJoined(db, parts) as Promise<Decoded<P>>;
    },

    async readAfter<F, const P extends readonly ReadPart<unknown>[]>(
      first: ReadPart<F>,
      then: (after: RawBuilder<unknown>) => P,
    ): Promise<[F, ...Decoded<P>]> {
      if (!postgres) {
        // in process, one after another: `first` has run when the others do
        const locked = await readOne(db, first);
        const decoded: unknown[] = [];
        for (const part of then(sql`select 1`)) decoded.push(await readOne(db, part));
        return [locked, ...decoded] as [F, ...Decoded<P>];
      }
      return readJoined(db, [first, ...then(sql`select 1 from ${sql.ref('part0')}`)]) as Promise<
        [F, ...Decoded<P>]
      >;
    },

    async write(parts) {
      // one part as a statement of its own: a checked one fails when it changed no row
      const runAlone = async (part: AnyWritePart): Promise<void> => {
        const { rows } = await db.executeQuery(queryOf(part).compile());
        if (isChecked(part) && rows.length === 0) throw part.refused();
      };
      if (!postgres) {
        for (const part of parts) await runAlone(part);
        return;
      }
      let group: AnyWritePart[] = [];
      let bound = 0;
      const flush = async (): Promise<void> => {
        if (group.length === 1 && group[0] !== undefined) {
          await runAlone(group[0]);
        } else if (group.length > 1) {
          const names = group.map((_, i) => sql.ref(`part${i}`));
          const withs = group.map((part, i) => sql`${names[i]} as (${queryOf(part)})`);
          // a checked write's changed rows, counted; the others run whether read or not
          const counts = group.flatMap((part, i) =>
            isChecked(part) ? [sql`(select count(*) from ${names[i]}) as ${names[i]}`] : [],
          );
          const { rows } = await sql<Record<string, unknown>>`with ${sql.join(withs)} select ${
            counts.length === 0 ? sql`1` : sql.join(counts)
          }`.execute(db);
          const row = rows[0] ?? {};
          for (const [i, part] of group.entries()) {
            if (isChecked(part) && Number(row[`part${i}`] ?? 0) === 0) throw part.refused();
          }
        }
        group = [];
        bound = 0;
      };
      for (const part of parts) {
        const values = queryOf(part).compile().parameters.length;
        if (group.length > 0 && bound + values > MAX_BOUND_VALUES) await flush();
        group.push(part);
        bound += values;
      }
      await flush();
    },
  };
}

/** Reads parts as the common table expressions `part0`, `part1`, … of one statement. */
async function readJoined(
  db: Kysely<Database>,
  parts: readonly ReadPart<unknown>[],
): Promise<unknown[]> {
  const names = parts.map((_, i) => sql.ref(`part${i}`));
  const withs = parts.map((part, i) => sql`${names[i]} as (${part.query})`);
  const columns = names.map(
    (name) => sql`(select coalesce(json_agg(${name}), '[]'::json) from ${name}) as ${name}`,
  );
  const { rows } = await sql<
    Record<string, unknown[]>
  >`with ${sql.join(withs)} select ${sql.join(columns)}`.execute(db);
  const row = rows[0] ?? {};
  return parts.map((part, i) => part.decode((row[`part${i}`] ?? []) as Record<string, unknown>[]));
}

function isChecked(part: AnyWritePart): part is CheckedWritePart {
  return 'refused' in part;
}

function queryOf(part: AnyWritePart): QueryPart {
  return isChecked(part) ? part.query : part;
}
