import type { Kysely, Selectable } from 'kysely';
import type { Database, TrustedKeysTable } from '../../db/schema.ts';

/** A build key whose signatures make a pack trusted. */
export interface TrustedKey {
  keyId: string;
  name: string;
  publicKeyPem: string;
  addedAt: string;
  addedBy: string;
}

export interface TrustStore {
  find(keyId: string): Promise<TrustedKey | null>;
  /** Oldest first. */
  list(): Promise<TrustedKey[]>;
  /** Inserts unless the key id is already trusted; false when nothing was inserted. */
  insert(key: TrustedKey): Promise<boolean>;
  /** Deletes and returns the key; null when it was not trusted. */
  delete(keyId: string): Promise<TrustedKey | null>;
}

export function createTrustStore(db: Kysely<Database>): TrustStore {
  const find = async (keyId: string): Promise<TrustedKey | null> => {
    const row = await db
      .selectFrom('trusted_keys')
      .selectAll()
      .where('key_id', '=', keyId)
      .executeTakeFirst();
    return row === undefined ? null : fromRow(row);
  };

  return {
    find,

    async list() {
      const rows = await db
        .selectFrom('trusted_keys')
        .selectAll()
        .orderBy('added_at', 'asc')
        .orderBy('key_id', 'asc')
        .execute();
      return rows.map(fromRow);
    },

    async insert(key) {
      const result = await db
        .insertInto('trusted_keys')
        .values({
          key_id: key.keyId,
          name: key.name,
          public_key_pem: key.publicKeyPem,
          added_at: key.addedAt,
          added_by: key.addedBy,
        })
        .onConflict((conflict) => conflict.column('key_id').doNothing())
        .executeTakeFirst();
      return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
    },

    async delete(keyId) {
      const row = await db
        .deleteFrom('trusted_keys')
        .where('key_id', '=', keyId)
        .returningAll()
        .executeTakeFirst();
      return row === undefined ? null : fromRow(row);
    },
  };
}

function fromRow(row: Selectable<TrustedKeysTable>): TrustedKey {
  return {
    keyId: row.key_id,
    name: row.name,
    publicKeyPem: row.public_key_pem,
    addedAt: row.added_at,
    addedBy: row.added_by,
  };
}
