import type { Kysely, Selectable } from 'kysely';
import type { Database, PacksTable } from '../../db/schema.ts';
import type { ReadPart } from '../../db/statement-parts.ts';

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
  /** The stored packs of these digests, by digest (a digest not stored is absent), as a part of a read. */
  findByDigestsPart(digests: readonly string[]): ReadPart<Map<string, StoredPack>>;
  /**
   * `findByDigestsPart` of `digests` and of the channel's base and last-known-good as the
   * statement reads the channel row (for a read joined with the channel's lock: a reader checks
   * the locked row's packs are among them, `channelRowsOf`).
   */
  findForChannelPart(
    env: string,
    channel: string,
    digests: readonly string[],
  ): ReadPart<Map<string, StoredPack>>;
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
  const byDigest = (rows: readonly Record<string, unknown>[]): Map<string, StoredPack> =>
    new Map(
      rows.map((row) => {
        const pack = fromRow(row as Selectable<PacksTable>);
        return [pack.digest, pack];
      }),
    );
  const findForChannelPart = (
    env: string,
    channel: string,
    digests: readonly string[],
  ): ReadPart<Map<string, StoredPack>> => {
    const ofChannel = (column: 'base' | 'lkg') =>
      db.selectFrom('channels').select(column).where('env', '=', env).where('name', '=', channel);
    return {
      query: db
        .selectFrom('packs')
        .selectAll()
        .where((eb) =>
          eb.or([
            eb('digest', 'in', digests.length === 0 ? [''] : digests),
            eb('digest', 'in', ofChannel('base')),
            eb('digest', 'in', ofChannel('lkg')),
          ]),
        ),
      decode: byDigest,
    };
  };
  const findByDigestsPart = (digests: readonly string[]): ReadPart<Map<string, StoredPack>> => ({
    query: db
      .selectFrom('packs')
      .selectAll()
      // a digest no pack has when there is nothing to look for (`in ()` is not SQL)
      .where('digest', 'in', digests.length === 0 ? [''] : digests),
    decode: byDigest,
  });

  return {
    findByDigestsPart,
    findForChannelPart,

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
