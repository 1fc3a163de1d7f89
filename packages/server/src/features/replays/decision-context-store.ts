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
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';
import {
  canonicalBytes,
  CONTEXT_LISTS,
  contextHead,
  digestOf,
  hasContextLists,
  isContextHead,
  joinContextHead,
} from '@lockgate/core';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';

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
  const compressed = brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 5,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
  return { digest: digestOf(bytes), body: compressed.toString('base64'), size: bytes.length };
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
  const insert = async (
    encoded: readonly { digest: string; body: string; size: number }[],
    storedAt: string,
  ): Promise<void> => {
    await db
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
      .onConflict((conflict) => conflict.column('digest').doNothing())
      .execute();
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
      if (!hasContextLists(context)) {
        const encoded = encodeDecisionContext(context);
        await insert([encoded], storedAt);
        return encoded.digest;
      }
      const head = contextHead(context);
      const refs = CONTEXT_LISTS.map((name) => ({ name, digest: head[name].digest }));
      const stored = new Set(
        (
          await db
            .selectFrom('decision_contexts')
            .select('digest')
            .where(
              'digest',
              'in',
              refs.map((ref) => ref.digest),
            )
            .execute()
        ).map((row) => row.digest),
      );
      const rows: ReturnType<typeof encodeDecisionContext>[] = [];
      for (const { name, digest } of refs) {
        if (stored.has(digest)) continue;
        rows.push(encodeDecisionContext(context[name]));
        stored.add(digest);
      }
      const encoded = encodeDecisionContext(head);
      await insert([...rows, encoded], storedAt);
      return encoded.digest;
    },

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
