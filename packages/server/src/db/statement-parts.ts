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
  /** Runs the writes (one statement on PostgreSQL, unless their bound values need more). */
  write(parts: readonly WritePart[]): Promise<void>;
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
      const names = parts.map((_, i) => sql.ref(`part${i}`));
      const withs = parts.map((part, i) => sql`${names[i]} as (${part.query})`);
      const columns = names.map(
        (name) => sql`(select coalesce(json_agg(${name}), '[]'::json) from ${name}) as ${name}`,
      );
      const { rows } = await sql<
        Record<string, unknown[]>
      >`with ${sql.join(withs)} select ${sql.join(columns)}`.execute(db);
      const row = rows[0] ?? {};
      return parts.map((part, i) =>
        part.decode((row[`part${i}`] ?? []) as Record<string, unknown>[]),
      ) as Decoded<P>;
    },

    async write(parts) {
      if (!postgres) {
        for (const part of parts) await db.executeQuery(part.compile());
        return;
      }
      let group: WritePart[] = [];
      let bound = 0;
      const flush = async (): Promise<void> => {
        if (group.length === 1 && group[0] !== undefined) {
          await db.executeQuery(group[0].compile());
        } else if (group.length > 1) {
          const withs = group.map((part, i) => sql`${sql.ref(`part${i}`)} as (${part})`);
          await sql`with ${sql.join(withs)} select 1`.execute(db);
        }
        group = [];
        bound = 0;
      };
      for (const part of parts) {
        const values = part.compile().parameters.length;
        if (group.length > 0 && bound + values > MAX_BOUND_VALUES) await flush();
        group.push(part);
        bound += values;
      }
      await flush();
    },
  };
}
