import type { Kysely, Selectable } from 'kysely';
import type { Database, PacksTable } from '../../db/schema.ts';

/** One stored pack as the store sees it; the manifest stays JSON text. */
export interface StoredPack {
  digest: string;
  name: string;
  version: string;
  sequence: number;
  buildId: string;
  manifestJson: string;
  size: number;
  createdAt: string;
  pushedAt: string;
  pushedBy: string;
}

export interface PackListQuery {
  name?: string;
  limit: number;
}

export interface PackStore {
  findByDigest(digest: string): Promise<StoredPack | null>;
  findByNameVersion(name: string, version: string): Promise<StoredPack | null>;
  /** Newest push first. */
  list(query: PackListQuery): Promise<StoredPack[]>;
  /**
   * Inserts the pack unless its digest or its name@version is already stored;
   * false when nothing was inserted (the caller reads which one clashed).
   */
  insert(pack: StoredPack): Promise<boolean>;
}

export function createPackStore(db: Kysely<Database>): PackStore {
  return {
    async findByDigest(digest) {
      const row = await db
        .selectFrom('packs')
        .selectAll()
        .where('digest', '=', digest)
        .executeTakeFirst();
      return row === undefined ? null : fromRow(row);
    },

    async findByNameVersion(name, version) {
      const row = await db
        .selectFrom('packs')
        .selectAll()
        .where('name', '=', name)
        .where('version', '=', version)
        .executeTakeFirst();
      return row === undefined ? null : fromRow(row);
    },

    async list({ name, limit }) {
      let query = db.selectFrom('packs').selectAll();
      if (name !== undefined) query = query.where('name', '=', name);
      const rows = await query
        .orderBy('pushed_at', 'desc')
        .orderBy('sequence', 'desc')
        .orderBy('digest', 'asc')
        .limit(limit)
        .execute();
      return rows.map(fromRow);
    },

    async insert(pack) {
      const result = await db
        .insertInto('packs')
        .values({
          digest: pack.digest,
          name: pack.name,
          version: pack.version,
          sequence: pack.sequence,
          build_id: pack.buildId,
          manifest_json: pack.manifestJson,
          size: pack.size,
          created_at: pack.createdAt,
          pushed_at: pack.pushedAt,
          pushed_by: pack.pushedBy,
        })
        .onConflict((conflict) => conflict.doNothing())
        .executeTakeFirst();
      return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
    },
  };
}

function fromRow(row: Selectable<PacksTable>): StoredPack {
  return {
    digest: row.digest,
    name: row.name,
    version: row.version,
    sequence: Number(row.sequence),
    buildId: row.build_id,
    manifestJson: row.manifest_json,
    size: Number(row.size),
    createdAt: row.created_at,
    pushedAt: row.pushed_at,
    pushedBy: row.pushed_by,
  };
}
