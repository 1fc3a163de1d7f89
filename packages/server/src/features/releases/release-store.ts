import { TERMINAL_STATES } from '@lockgate/core';
import type { ReleaseState, ReleaseStatus } from '@lockgate/core';
import type { Kysely, Selectable } from 'kysely';
import type { Database, ReleasesTable } from '../../db/schema.ts';
import { readOne } from '../../db/statement-parts.ts';
import type { QueryPart, ReadPart } from '../../db/statement-parts.ts';

export interface StoredRelease {
  release: ReleaseState;
  createdAt: string;
  updatedAt: string;
}

export interface ReleaseListQuery {
  env?: string;
  channel?: string;
  state?: ReleaseStatus;
  limit: number;
}

export interface ReleaseStore {
  find(id: string): Promise<StoredRelease | null>;
  /** `find` as a part of a read (`Statements.read`). */
  findPart(id: string): ReadPart<StoredRelease | null>;
  /** Newest first. */
  list(query: ReleaseListQuery): Promise<StoredRelease[]>;
  /** Ids of the releases that have not ended, oldest first. */
  listActiveIds(): Promise<string[]>;
  insert(stored: StoredRelease): Promise<void>;
  /**
   * Saves the release when the stored version is still `expectedVersion` (optimistic
   * concurrency); false when another writer saved first and nothing changed.
   */
  saveIfVersion(
    release: ReleaseState,
    expectedVersion: number,
    updatedAt: string,
  ): Promise<boolean>;
  /**
   * `saveIfVersion` as a write part returning the row it saved (none when another writer saved
   * first): a caller makes it a checked write (`Statements.write`).
   */
  saveIfVersionPart(release: ReleaseState, expectedVersion: number, updatedAt: string): QueryPart;
}

export function createReleaseStore(db: Kysely<Database>): ReleaseStore {
  const findPart = (id: string): ReadPart<StoredRelease | null> => ({
    query: db.selectFrom('releases').selectAll().where('id', '=', id),
    decode: (rows) => {
      const row = rows[0];
      return row === undefined ? null : fromRow(row as Selectable<ReleasesTable>);
    },
  });

  const saveIfVersionPart = (
    release: ReleaseState,
    expectedVersion: number,
    updatedAt: string,
  ): QueryPart =>
    db
      .updateTable('releases')
      .set({
        state: release.state,
        version: release.version,
        release_json: JSON.stringify(release),
        updated_at: updatedAt,
      })
      .where('id', '=', release.id)
      .where('version', '=', expectedVersion)
      .returning('id');

  return {
    find(id) {
      return readOne(db, findPart(id));
    },

    findPart,

    async list({ env, channel, state, limit }) {
      let query = db.selectFrom('releases').selectAll();
      if (env !== undefined) query = query.where('env', '=', env);
      if (channel !== undefined) query = query.where('channel', '=', channel);
      if (state !== undefined) query = query.where('state', '=', state);
      const rows = await query
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return rows.map(fromRow);
    },

    async listActiveIds() {
      const rows = await db
        .selectFrom('releases')
        .select('id')
        .where('state', 'not in', [...TERMINAL_STATES])
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map((row) => row.id);
    },

    async insert({ release, createdAt, updatedAt }) {
      await db
        .insertInto('releases')
        .values({
          id: release.id,
          env: release.env,
          channel: release.channel,
          pack: release.pack,
          state: release.state,
          version: release.version,
          release_json: JSON.stringify(release),
          created_at: createdAt,
          updated_at: updatedAt,
        })
        .execute();
    },

    async saveIfVersion(release, expectedVersion, updatedAt) {
      const part = saveIfVersionPart(release, expectedVersion, updatedAt);
      return (await db.executeQuery(part.compile())).rows.length > 0;
    },

    saveIfVersionPart,
  };
}

function fromRow(row: Selectable<ReleasesTable>): StoredRelease {
  return {
    release: JSON.parse(row.release_json) as ReleaseState,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
