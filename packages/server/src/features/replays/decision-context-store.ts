/**
 * The decision contexts core decided on, content-addressed: each row's key is `sha256:` + hex of
 * the JCS (RFC 8785) bytes it holds, brotli-compressed (base64 text, so both dialects and backups
 * carry it like any other text column). A release context is kept as rows of its own: its head
 * (whose digest is the one core writes into each draft's `inputs.context`) and each of its lists
 * (the channel's targets, the stage's targets) under the digest the head names it by (core
 * context-digest.ts); decisions on unchanged targets share the list rows. Other contexts (channel
 * calls) are one row under the digest of their JCS bytes.
 *
 * Invariants: `put` is idempotent (the same JSON twice is one row, the first kept); rows are
 * never deleted or updated; `get` decompresses and hashes the bytes again (the head's and its
 * lists'), so a row edited in the database is returned with `intact: false` rather than trusted.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { promisify } from 'node:util';
import { brotliCompress, brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';
import {
  canonicalBytes,
  canonicalJson,
  CONTEXT_LISTS,
  contextHead,
  digestOf,
  hasContextLists,
  isContextHead,
  joinContextHead,
} from '@lockgate/core';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { createStatements } from '../../db/statement-parts.ts';
import type { ReadPart, WritePart } from '../../db/statement-parts.ts';

/** How a context body is stored: brotli, then base64. */
export const CONTEXT_ENCODING = 'br+base64';

export interface StoredDecisionContext {
  digest: string;
  /** the context as JSON (parsed from the stored bytes) */
  context: unknown;
  /** bytes of the uncompressed JCS text */
  size: number;
  /** bytes of the compressed body */
  storedSize: number;
  /** false when the stored bytes no longer hash to the digest they are stored under */
  intact: boolean;
  storedAt: string;
}

export interface DecisionContextStore {
  /**
   * Stores a context (once) and returns the digest decisions name it by: a release context as
   * its head and its lists (core context-digest.ts), each under its own digest, a list already
   * stored neither compressed nor written again; any other context under the digest of its JCS
   * bytes.
   */
  put(context: unknown, storedAt: string): Promise<string>;
  /**
   * `put` in two parts: which of these digests (`contextListDigests`) are stored, a part of a
   * read (`Statements.read`), then the rows of the context not among them, parts of a write (an
   * `EncodedContext` is written as it was encoded).
   */
  storedPart(digests: readonly string[]): ReadPart<Set<string>>;
  putParts(
    context: unknown,
    storedAt: string,
    stored: ReadonlySet<string>,
  ): { digest: string; parts: WritePart[] };
  /**
   * The context stored under `digest`, or null; a head comes back joined with its lists
   * (`intact: false`, and the head as stored, when a list is missing or changed).
   */
  get(digest: string): Promise<StoredDecisionContext | null>;
}

/** The digest and compressed body of a JSON value's JCS bytes (pure; shared by put and tests). */
export function encodeDecisionContext(context: unknown): {
  digest: string;
  body: string;
  size: number;
} {
  const bytes = canonicalBytes(context);
  const compressed = brotliCompressSync(bytes, brotliOptions(bytes.length));
  return { digest: digestOf(bytes), body: compressed.toString('base64'), size: bytes.length };
}

function brotliOptions(size: number): { params: Record<number, number> } {
  return {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 5,
      [constants.BROTLI_PARAM_SIZE_HINT]: size,
    },
  };
}

/** A context encoded before the transaction that stores it (`encodeListInSlices`). */
export class EncodedContext {
  readonly digest: string;
  readonly body: string;
  readonly size: number;

  constructor(encoded: { digest: string; body: string; size: number }) {
    this.digest = encoded.digest;
    this.body = encoded.body;
    this.size = encoded.size;
  }
}

/** Elements of a list written as JCS between two turns of the event loop. */
const ENCODE_SLICE = 2000;

const brotliCompressAsync = promisify(brotliCompress);

/**
 * A list of JSON values encoded as `encodeDecisionContext` encodes it (the same bytes, digest
 * and body), without holding the event loop: the JCS text of a list is `[`, its elements' JCS
 * texts joined by `,`, then `]` (RFC 8785 §3.2.1), written a slice of elements per turn of the
 * loop, and compressed on the thread pool. A stage attestation of 100,000 targets (tens of MB
 * of text) is encoded so; `putParts` stores the result as it is.
 */
export async function encodeListInSlices(list: readonly unknown[]): Promise<EncodedContext> {
  const slices: string[] = [];
  for (let i = 0; i < list.length; i += ENCODE_SLICE) {
    if (i > 0) await nextTurn();
    slices.push(
      list
        .slice(i, i + ENCODE_SLICE)
        .map(canonicalJson)
        .join(','),
    );
  }
  const bytes = Buffer.from(`[${slices.join(',')}]`, 'utf8');
  const compressed = await brotliCompressAsync(bytes, brotliOptions(bytes.length));
  return new EncodedContext({
    digest: digestOf(bytes),
    body: compressed.toString('base64'),
    size: bytes.length,
  });
}

/** The digests of a release context's lists, which `put` may find stored already; else none. */
export function contextListDigests(context: unknown): string[] {
  if (!hasContextLists(context)) return [];
  const head = contextHead(context);
  return CONTEXT_LISTS.map((name) => head[name].digest);
}

interface ReadRow {
  digest: string;
  value: unknown;
  size: number;
  storedSize: number;
  intact: boolean;
  storedAt: string;
}

export function createDecisionContextStore(db: Kysely<Database>): DecisionContextStore {
  /** One statement for all of them (a context's head and its lists: one round trip). */
  const insertPart = (
    encoded: readonly { digest: string; body: string; size: number }[],
    storedAt: string,
  ): WritePart =>
    db
      .insertInto('decision_contexts')
      .values(
        encoded.map((one) => ({
          digest: one.digest,
          encoding: CONTEXT_ENCODING,
          body: one.body,
          size: one.size,
          stored_at: storedAt,
        })),
      )
      .onConflict((conflict) => conflict.column('digest').doNothing());

  const storedPart = (digests: readonly string[]): ReadPart<Set<string>> => ({
    query: db
      .selectFrom('decision_contexts')
      .select('digest')
      // a digest no row has when there is nothing to look for (`in ()` is not SQL)
      .where('digest', 'in', digests.length === 0 ? [''] : digests),
    decode: (rows) => new Set(rows.map((row) => String(row.digest))),
  });

  const putParts = (
    context: unknown,
    storedAt: string,
    stored: ReadonlySet<string>,
  ): { digest: string; parts: WritePart[] } => {
    if (context instanceof EncodedContext) {
      return { digest: context.digest, parts: [insertPart([context], storedAt)] };
    }
    if (!hasContextLists(context)) {
      const encoded = encodeDecisionContext(context);
      return { digest: encoded.digest, parts: [insertPart([encoded], storedAt)] };
    }
    const head = contextHead(context);
    const written = new Set(stored);
    const rows: ReturnType<typeof encodeDecisionContext>[] = [];
    for (const name of CONTEXT_LISTS) {
      if (written.has(head[name].digest)) continue;
      rows.push(encodeDecisionContext(context[name]));
      written.add(head[name].digest);
    }
    const encoded = encodeDecisionContext(head);
    return { digest: encoded.digest, parts: [insertPart([...rows, encoded], storedAt)] };
  };

  const read = async (digest: string): Promise<ReadRow | null> => {
    const row = await db
      .selectFrom('decision_contexts')
      .selectAll()
      .where('digest', '=', digest)
      .executeTakeFirst();
    if (row === undefined) return null;
    const compressed = Buffer.from(row.body, 'base64');
    const bytes = brotliDecompressSync(compressed);
    return {
      digest: row.digest,
      value: JSON.parse(bytes.toString('utf8')) as unknown,
      size: Number(row.size),
      storedSize: compressed.length,
      intact: digestOf(bytes) === row.digest,
      storedAt: row.stored_at,
    };
  };

  return {
    async put(context, storedAt) {
      const statements = createStatements(db);
      const digests = contextListDigests(context);
      const [stored] =
        digests.length === 0 ? [new Set<string>()] : await statements.read([storedPart(digests)]);
      const { digest, parts } = putParts(context, storedAt, stored);
      await statements.write(parts);
      return digest;
    },

    storedPart,
    putParts,

    async get(digest) {
      const row = await read(digest);
      if (row === null) return null;
      let context = row.value;
      let intact = row.intact;
      let size = row.size;
      let storedSize = row.storedSize;
      if (isContextHead(row.value)) {
        const lists = new Map<string, readonly unknown[]>();
        for (const name of CONTEXT_LISTS) {
          const list = await read(row.value[name].digest);
          if (list === null || !Array.isArray(list.value)) continue;
          lists.set(list.digest, list.value);
          intact &&= list.intact;
          size += list.size;
          storedSize += list.storedSize;
        }
        const joined = joinContextHead(row.value, (d) => lists.get(d) ?? null);
        if (joined === null) intact = false;
        else context = joined;
      }
      return { digest: row.digest, context, size, storedSize, intact, storedAt: row.storedAt };
    },
  };
}
