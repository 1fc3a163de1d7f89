import type { Kysely, Selectable } from 'kysely';
import type { Database, ServerKeysTable } from '../../db/schema.ts';
import { readOne } from '../../db/statement-parts.ts';
import type { ReadPart } from '../../db/statement-parts.ts';

/** A key the server signs with; the private half never leaves the database and the process. */
export interface StoredServerKey {
  keyId: string;
  use: string;
  privateKeyPem: string;
  publicKeyPem: string;
  createdAt: string;
}

export interface ServerKeyStore {
  findByUse(use: string): Promise<StoredServerKey | null>;
  /** `findByUse` as a part of a read (`Statements.read`). */
  findByUsePart(use: string): ReadPart<StoredServerKey | null>;
  /** Oldest first. */
  list(): Promise<StoredServerKey[]>;
  /** Inserts unless a key for this use exists (another replica won); false then. */
  insert(key: StoredServerKey): Promise<boolean>;
}

export function createServerKeyStore(db: Kysely<Database>): ServerKeyStore {
  const findByUsePart = (use: string): ReadPart<StoredServerKey | null> => ({
    query: db.selectFrom('server_keys').selectAll().where('use', '=', use),
    decode: (rows) => {
      const row = rows[0];
      return row === undefined ? null : fromRow(row as Selectable<ServerKeysTable>);
    },
  });

  return {
    findByUsePart,

    findByUse(use) {
      return readOne(db, findByUsePart(use));
    },

    async list() {
      const rows = await db
        .selectFrom('server_keys')
        .selectAll()
        .orderBy('created_at')
        .orderBy('key_id')
        .execute();
      return rows.map(fromRow);
    },

    async insert(key) {
      const result = await db
        .insertInto('server_keys')
        .values({
          key_id: key.keyId,
          use: key.use,
          private_key_pem: key.privateKeyPem,
          public_key_pem: key.publicKeyPem,
          created_at: key.createdAt,
        })
        .onConflict((conflict) => conflict.doNothing())
        .executeTakeFirst();
      return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
    },
  };
}

function fromRow(row: Selectable<ServerKeysTable>): StoredServerKey {
  return {
    keyId: row.key_id,
    use: row.use,
    privateKeyPem: row.private_key_pem,
    publicKeyPem: row.public_key_pem,
    createdAt: row.created_at,
  };
}
