import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';

export interface StoredIdempotencyKey {
  actor: string;
  key: string;
  scope: string;
  requestHash: string;
  responseJson: string;
  createdAt: string;
}

export interface IdempotencyStore {
  find(actor: string, key: string): Promise<StoredIdempotencyKey | null>;
  /**
   * Claims the key; throws on a duplicate (on PostgreSQL after waiting for a concurrent claim
   * of the same key to commit or roll back).
   */
  insert(entry: StoredIdempotencyKey): Promise<void>;
  setResponse(actor: string, key: string, responseJson: string): Promise<void>;
  /** Deletes keys created before `before`; returns how many. */
  prune(before: string): Promise<number>;
}

export function createIdempotencyStore(db: Kysely<Database>): IdempotencyStore {
  return {
    async find(actor, key) {
      const row = await db
        .selectFrom('idempotency_keys')
        .selectAll()
        .where('actor', '=', actor)
        .where('key', '=', key)
        .executeTakeFirst();
      if (row === undefined) return null;
      return {
        actor: row.actor,
        key: row.key,
        scope: row.scope,
        requestHash: row.request_hash,
        responseJson: row.response_json,
        createdAt: row.created_at,
      };
    },

    async insert(entry) {
      await db
        .insertInto('idempotency_keys')
        .values({
          actor: entry.actor,
          key: entry.key,
          scope: entry.scope,
          request_hash: entry.requestHash,
          response_json: entry.responseJson,
          created_at: entry.createdAt,
        })
        .execute();
    },

    async setResponse(actor, key, responseJson) {
      await db
        .updateTable('idempotency_keys')
        .set({ response_json: responseJson })
        .where('actor', '=', actor)
        .where('key', '=', key)
        .execute();
    },

    async prune(before) {
      const result = await db
        .deleteFrom('idempotency_keys')
        .where('created_at', '<', before)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
