import type { Kysely, Selectable } from 'kysely';
import type { Database, TrustedKeysTable } from '../../db/schema.ts';
import { readOne } from '../../db/statement-parts.ts';
import type { ReadPart } from '../../db/statement-parts.ts';

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
  /** `list` as a part of a read (`Statements.read`). */
  listPart(): ReadPart<TrustedKey[]>;
  /** Inserts unless the key id is already trusted; false when nothing was inserted. */
  insert(key: TrustedKey): Promise<boolean>;
  /** Deletes and returns the key; null when it was not trusted. */
  delete(keyId: string): Promise<TrustedKey | null>;
}

export function createTrustStore(db: Kysely<Database>): TrustStore {
  const listPart = (): ReadPart<TrustedKey[]> => ({
    query: db
      .selectFrom('trusted_keys')
      .selectAll()
      .orderBy('added_at', 'asc')
      .orderBy('key_id', 'asc'),
    decode: (rows) => rows.map((row) => fromRow(row as Selectable<TrustedKeysTable>)),
  });

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

    list() {
      return readOne(db, listPart());
    },

    listPart,

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
