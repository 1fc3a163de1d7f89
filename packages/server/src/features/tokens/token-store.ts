import type { Kysely, Selectable } from 'kysely';
import type { ApiTokensTable, Database } from '../../db/schema.ts';
import type { TokenScope } from './token-scope.ts';

export interface ApiToken {
  id: string;
  /** The principal: unique, except that every bootstrap admin token is named `admin`. */
  name: string;
  /** hex sha256 of the bearer token */
  tokenHash: string;
  /** `admin`, `operator` or `agent`; other values are refused when authenticating. */
  role: string;
  createdAt: string;
  revokedAt: string | null;
  /**
   * What an agent token may speak for; absent for admin and operator tokens and for agent
   * tokens stored before scopes existed (those speak for nothing).
   */
  scope?: TokenScope;
}

export interface TokenStore {
  /** Unrevoked tokens, of one role when given. */
  countActive(role?: string): Promise<number>;
  /** The unrevoked token with this hash, or null. */
  findActiveByHash(tokenHash: string): Promise<ApiToken | null>;
  /** Every token with this name (revoked ones too), oldest first. */
  findByName(name: string): Promise<ApiToken[]>;
  /** Oldest first, revoked ones too. */
  list(): Promise<ApiToken[]>;
  /** Inserts unless the id, hash or name exists; false when nothing was inserted. */
  insert(token: ApiToken): Promise<boolean>;
  /** Revokes the unrevoked tokens with this name and returns them as revoked, oldest first. */
  revokeByName(name: string, revokedAt: string): Promise<ApiToken[]>;
  /** The ids among these that are of unrevoked tokens. */
  activeIds(ids: readonly string[]): Promise<Set<string>>;
  /** Ids of the tokens revoked at or after `since`. */
  revokedSince(since: string): Promise<string[]>;
}

const ID_BATCH = 500;

export function createTokenStore(db: Kysely<Database>): TokenStore {
  return {
    async countActive(role) {
      let query = db
        .selectFrom('api_tokens')
        .select((eb) => eb.fn.countAll().as('count'))
        .where('revoked_at', 'is', null);
      if (role !== undefined) query = query.where('role', '=', role);
      const row = await query.executeTakeFirstOrThrow();
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

    async findByName(name) {
      const rows = await db
        .selectFrom('api_tokens')
        .selectAll()
        .where('name', '=', name)
        .orderBy('created_at', 'asc')
        .orderBy('id', 'asc')
        .execute();
      return rows.map(fromRow);
    },

    async list() {
      const rows = await db
        .selectFrom('api_tokens')
        .selectAll()
        .orderBy('created_at', 'asc')
        .orderBy('id', 'asc')
        .execute();
      return rows.map(fromRow);
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
          scope_targets_json:
            token.scope === undefined ? null : JSON.stringify(token.scope.targets),
          scope_channels_json:
            token.scope === undefined ? null : JSON.stringify(token.scope.channels),
        })
        .onConflict((conflict) => conflict.doNothing())
        .executeTakeFirst();
      return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
    },

    async revokeByName(name, revokedAt) {
      const rows = await db
        .updateTable('api_tokens')
        .set({ revoked_at: revokedAt })
        .where('name', '=', name)
        .where('revoked_at', 'is', null)
        .returningAll()
        .execute();
      return rows
        .map(fromRow)
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
    },

    async revokedSince(since) {
      const rows = await db
        .selectFrom('api_tokens')
        .select('id')
        .where('revoked_at', '>=', since)
        .execute();
      return rows.map((row) => row.id);
    },

    async activeIds(ids) {
      const active = new Set<string>();
      const unique = [...new Set(ids)];
      // In batches: both dialects bound the number of parameters of one statement.
      for (let start = 0; start < unique.length; start += ID_BATCH) {
        const rows = await db
          .selectFrom('api_tokens')
          .select('id')
          .where('id', 'in', unique.slice(start, start + ID_BATCH))
          .where('revoked_at', 'is', null)
          .execute();
        for (const row of rows) active.add(row.id);
      }
      return active;
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
    ...scopeOf(row),
  };
}

/** The stored scope; a token with either column null has none. */
function scopeOf(row: Selectable<ApiTokensTable>): { scope?: TokenScope } {
  if (row.scope_targets_json === null || row.scope_channels_json === null) return {};
  return {
    scope: {
      targets: JSON.parse(row.scope_targets_json) as string[],
      channels: JSON.parse(row.scope_channels_json) as string[],
    },
  };
}
