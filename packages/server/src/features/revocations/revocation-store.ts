import type { Kysely, Selectable } from 'kysely';
import type { Database, RevocationsTable } from '../../db/schema.ts';
import { readOne } from '../../db/statement-parts.ts';
import type { ReadPart } from '../../db/statement-parts.ts';

export interface StoredRevocation {
  pack: string;
  reason: string;
  actor: string;
  revokedAt: string;
}

export interface RevocationStore {
  find(pack: string): Promise<StoredRevocation | null>;
  /** Oldest first. */
  list(): Promise<StoredRevocation[]>;
  /** The revoked digests, sorted. */
  digests(): Promise<string[]>;
  /** `digests` as a part of a read (`Statements.read`). */
  digestsPart(): ReadPart<string[]>;
  /** Inserts unless the pack is already revoked; false when nothing was inserted. */
  insert(revocation: StoredRevocation): Promise<boolean>;
}

export function createRevocationStore(db: Kysely<Database>): RevocationStore {
  const digestsPart = (): ReadPart<string[]> => ({
    query: db.selectFrom('revocations').select('pack').orderBy('pack'),
    decode: (rows) => rows.map((row) => String(row.pack)),
  });

  return {
    async find(pack) {
      const row = await db
        .selectFrom('revocations')
        .selectAll()
        .where('pack', '=', pack)
        .executeTakeFirst();
      return row === undefined ? null : fromRow(row);
    },

    async list() {
      const rows = await db
        .selectFrom('revocations')
        .selectAll()
        .orderBy('revoked_at')
        .orderBy('pack')
        .execute();
      return rows.map(fromRow);
    },

    digests() {
      return readOne(db, digestsPart());
    },

    digestsPart,

    async insert(revocation) {
      const result = await db
        .insertInto('revocations')
        .values({
          pack: revocation.pack,
          reason: revocation.reason,
          actor: revocation.actor,
          revoked_at: revocation.revokedAt,
        })
        .onConflict((conflict) => conflict.column('pack').doNothing())
        .executeTakeFirst();
      return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
    },
  };
}

function fromRow(row: Selectable<RevocationsTable>): StoredRevocation {
  return { pack: row.pack, reason: row.reason, actor: row.actor, revokedAt: row.revoked_at };
}
