import type { BuildRecord, BuildStatus, GateResult } from '@lockgate/core';
import type { Kysely, Selectable } from 'kysely';
import type { BuildsTable, Database } from '../../db/schema.ts';
import { readOne } from '../../db/statement-parts.ts';
import type { ReadPart } from '../../db/statement-parts.ts';

export interface StoredBuild {
  record: BuildRecord;
  reportedBy: string;
}

export interface BuildListQuery {
  status?: BuildStatus;
  limit: number;
}

export interface BuildStore {
  find(id: string): Promise<StoredBuild | null>;
  /** `find` as a part of a read (`Statements.read`). */
  findPart(id: string): ReadPart<StoredBuild | null>;
  /** The build a stored pack names (its `build_id`), as a part of a read; null without the pack. */
  findOfPackPart(packDigest: string): ReadPart<StoredBuild | null>;
  /** Newest report first. */
  list(query: BuildListQuery): Promise<StoredBuild[]>;
  /** Inserts unless a build with this id exists; false when nothing was inserted. */
  insert(build: StoredBuild): Promise<boolean>;
  /** Sets the pack of a passed build whose pack is still unset; false when no row changed. */
  linkPack(id: string, packDigest: string): Promise<boolean>;
}

export function createBuildStore(db: Kysely<Database>): BuildStore {
  const decodeOne = (rows: readonly Record<string, unknown>[]): StoredBuild | null => {
    const row = rows[0];
    return row === undefined ? null : fromRow(row as Selectable<BuildsTable>);
  };

  const findPart = (id: string): ReadPart<StoredBuild | null> => ({
    query: db.selectFrom('builds').selectAll().where('id', '=', id),
    decode: decodeOne,
  });

  const findOfPackPart = (packDigest: string): ReadPart<StoredBuild | null> => ({
    query: db
      .selectFrom('builds')
      .selectAll()
      .where('id', '=', (eb) =>
        eb.selectFrom('packs').select('build_id').where('digest', '=', packDigest),
      ),
    decode: decodeOne,
  });

  return {
    find(id) {
      return readOne(db, findPart(id));
    },

    findPart,

    findOfPackPart,

    async list({ status, limit }) {
      let query = db.selectFrom('builds').selectAll();
      if (status !== undefined) query = query.where('status', '=', status);
      const rows = await query
        .orderBy('reported_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return rows.map(fromRow);
    },

    async insert({ record, reportedBy }) {
      const result = await db
        .insertInto('builds')
        .values({
          id: record.id,
          status: record.status,
          gates_json: JSON.stringify(record.gates),
          pack_digest: record.packDigest,
          source_json: record.source === undefined ? null : JSON.stringify(record.source),
          inputs_json: record.inputs === undefined ? null : JSON.stringify(record.inputs),
          reported_at: record.reportedAt,
          reported_by: reportedBy,
        })
        .onConflict((conflict) => conflict.column('id').doNothing())
        .executeTakeFirst();
      return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
    },

    async linkPack(id, packDigest) {
      const result = await db
        .updateTable('builds')
        .set({ pack_digest: packDigest })
        .where('id', '=', id)
        .where('status', '=', 'passed')
        .where('pack_digest', 'is', null)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
  };
}

function fromRow(row: Selectable<BuildsTable>): StoredBuild {
  const record: BuildRecord = {
    id: row.id,
    status: row.status,
    gates: JSON.parse(row.gates_json) as GateResult[],
    packDigest: row.pack_digest,
    reportedAt: row.reported_at,
  };
  if (row.source_json !== null) {
    record.source = JSON.parse(row.source_json) as NonNullable<BuildRecord['source']>;
  }
  if (row.inputs_json !== null) {
    record.inputs = JSON.parse(row.inputs_json) as Record<string, string>;
  }
  return { record, reportedBy: row.reported_by };
}
