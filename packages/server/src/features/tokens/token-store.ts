import type { Kysely, Selectable } from 'kysely';
import type { ApiTokensTable, Database } from '../../db/schema.ts';

export interface ApiToken {
  id: string;
  name: string;
  /** hex sha256 of the bearer token */
  tokenHash: string;
  /** Only 'admin' exists so far; other values are refused when authenticating. */
  role: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface TokenStore {
  countActive(): Promise<number>;
  /** The unrevoked token with this hash, or null. */
  findActiveByHash(tokenHash: string): Promise<ApiToken | null>;
  /** Inserts unless the id or hash exists; false when nothing was inserted. */
  insert(token: ApiToken): Promise<boolean>;
}

export function createTokenStore(db: Kysely<Database>): TokenStore {
  return {
    async countActive() {
      const row = await db
        .selectFrom('api_tokens')
        .select((eb) => eb.fn.countAll().as('count'))
        .where('revoked_at', 'is', null)
        .executeTakeFirstOrThrow();
      return Number(row.count);
    },

    async findActiveByHash(tokenHash) {
      const row = await db
        .selectFrom('api_tokens')
        .selectAll()
        .where('token_hash', '=', tokenHash)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return row === undefined ? null : fromRow(row);
    },

    async insert(token) {
      const result = await db
        .insertInto('api_tokens')
        .values({
          id: token.id,
          name: token.name,
          token_hash: token.tokenHash,
          role: token.role,
          created_at: token.createdAt,
          revoked_at: token.revokedAt,
        })
        .onConflict((conflict) => conflict.doNothing())
        .executeTakeFirst();
      return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
    },
  };
}

function fromRow(row: Selectable<ApiTokensTable>): ApiToken {
  return {
    id: row.id,
    name: row.name,
    tokenHash: row.token_hash,
    role: row.role,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}
