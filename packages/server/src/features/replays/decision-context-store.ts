/**
 * The decision contexts core decided on, content-addressed: the key is `sha256:` + hex of the
 * context's JCS (RFC 8785) bytes — the digest core writes into each draft's `inputs.context` —
 * and the row holds those bytes brotli-compressed (base64 text, so both dialects and backups
 * carry it like any other text column).
 *
 * Invariants: `put` is idempotent (the same context twice is one row, the first kept); rows are
 * never deleted or updated; `get` decompresses and hashes the bytes again, so a row edited in the
 * database is returned with `intact: false` rather than trusted.
 */
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';
import { canonicalBytes, digestOf } from '@lockgate/core';
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
  /** Stores a context under the digest of its JCS bytes (once); returns that digest. */
  put(context: unknown, storedAt: string): Promise<string>;
  /** The context stored under `digest`, or null. */
  get(digest: string): Promise<StoredDecisionContext | null>;
}

/** The digest and compressed body of a context (pure; shared by put and tests). */
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

export function createDecisionContextStore(db: Kysely<Database>): DecisionContextStore {
  return {
    async put(context, storedAt) {
      const { digest, body, size } = encodeDecisionContext(context);
      await db
        .insertInto('decision_contexts')
        .values({ digest, encoding: CONTEXT_ENCODING, body, size, stored_at: storedAt })
        .onConflict((conflict) => conflict.column('digest').doNothing())
        .execute();
      return digest;
    },

    async get(digest) {
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
        context: JSON.parse(bytes.toString('utf8')) as unknown,
        size: Number(row.size),
        storedSize: compressed.length,
        intact: digestOf(bytes) === row.digest,
        storedAt: row.stored_at,
      };
    },
  };
}
