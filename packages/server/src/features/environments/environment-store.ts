import type { FreezeWindow } from '@lockgate/core';
import type { Kysely, Selectable } from 'kysely';
import type { Database, EnvironmentsTable, FreezeWindowsTable } from '../../db/schema.ts';
import { readOne } from '../../db/statement-parts.ts';
import type { ReadPart } from '../../db/statement-parts.ts';

export interface StoredEnvironment {
  name: string;
  description: string;
  createdAt: string;
  createdBy: string;
}

export interface StoredFreezeWindow {
  env: string;
  window: FreezeWindow;
  createdAt: string;
  createdBy: string;
}

export interface EnvironmentStore {
  find(name: string): Promise<StoredEnvironment | null>;
  /** By name. */
  list(): Promise<StoredEnvironment[]>;
  /** Inserts unless the name exists; false when nothing was inserted. */
  insert(environment: StoredEnvironment): Promise<boolean>;
  updateDescription(name: string, description: string): Promise<void>;
  /** The environment's freeze windows, oldest first (the order activeFreeze reads them in). */
  listFreezeWindows(env: string): Promise<StoredFreezeWindow[]>;
  /** `listFreezeWindows` as a part of a read (`Statements.read`). */
  listFreezeWindowsPart(env: string): ReadPart<StoredFreezeWindow[]>;
  findFreezeWindow(env: string, id: string): Promise<StoredFreezeWindow | null>;
  insertFreezeWindow(window: StoredFreezeWindow): Promise<void>;
  deleteFreezeWindow(env: string, id: string): Promise<boolean>;
  /**
   * Marks the start of one occurrence of a freeze window as announced; false when it already was
   * (by this server or another), so the caller records nothing.
   */
  /**
   * Locks the environment's row until the transaction ends (freezes of one environment are
   * decided one at a time, whichever server decides); false when there is no such environment.
   */
  lock(name: string): Promise<boolean>;
  claimFreezeStart(start: {
    env: string;
    windowId: string;
    from: string;
    at: string;
  }): Promise<boolean>;
}

export function createEnvironmentStore(db: Kysely<Database>): EnvironmentStore {
  const listFreezeWindowsPart = (env: string): ReadPart<StoredFreezeWindow[]> => ({
    query: db
      .selectFrom('freeze_windows')
      .selectAll()
      .where('env', '=', env)
      .orderBy('created_at')
      .orderBy('id'),
    decode: (rows) => rows.map((row) => freezeFromRow(row as Selectable<FreezeWindowsTable>)),
  });

  return {
    async find(name) {
      const row = await db
        .selectFrom('environments')
        .selectAll()
        .where('name', '=', name)
        .executeTakeFirst();
      return row === undefined ? null : fromRow(row);
    },

    async list() {
      const rows = await db.selectFrom('environments').selectAll().orderBy('name').execute();
      return rows.map(fromRow);
    },

    async insert(environment) {
      const result = await db
        .insertInto('environments')
        .values({
          name: environment.name,
          description: environment.description,
          created_at: environment.createdAt,
          created_by: environment.createdBy,
        })
        .onConflict((conflict) => conflict.column('name').doNothing())
        .executeTakeFirst();
      return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
    },

    async updateDescription(name, description) {
      await db.updateTable('environments').set({ description }).where('name', '=', name).execute();
    },

    listFreezeWindows(env) {
      return readOne(db, listFreezeWindowsPart(env));
    },

    listFreezeWindowsPart,

    async findFreezeWindow(env, id) {
      const row = await db
        .selectFrom('freeze_windows')
        .selectAll()
        .where('env', '=', env)
        .where('id', '=', id)
        .executeTakeFirst();
      return row === undefined ? null : freezeFromRow(row);
    },

    async insertFreezeWindow(window) {
      await db
        .insertInto('freeze_windows')
        .values({
          id: window.window.id,
          env: window.env,
          window_json: JSON.stringify(window.window),
          created_at: window.createdAt,
          created_by: window.createdBy,
        })
        .execute();
    },

    async deleteFreezeWindow(env, id) {
      const result = await db
        .deleteFrom('freeze_windows')
        .where('env', '=', env)
        .where('id', '=', id)
        .executeTakeFirst();
      return result.numDeletedRows > 0n;
    },

    async lock(name) {
      const row = await db
        .updateTable('environments')
        .set((eb) => ({ name: eb.ref('name') }))
        .where('name', '=', name)
        .returning('name')
        .executeTakeFirst();
      return row !== undefined;
    },

    async claimFreezeStart(start) {
      const result = await db
        .insertInto('freeze_starts')
        .values({
          env: start.env,
          window_id: start.windowId,
          occurrence_from: start.from,
          announced_at: start.at,
        })
        .onConflict((conflict) =>
          conflict.columns(['env', 'window_id', 'occurrence_from']).doNothing(),
        )
        .executeTakeFirst();
      return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
    },
  };
}

function fromRow(row: Selectable<EnvironmentsTable>): StoredEnvironment {
  return {
    name: row.name,
    description: row.description,
    createdAt: row.created_at,
    createdBy: row.created_by,
  };
}

function freezeFromRow(row: Selectable<FreezeWindowsTable>): StoredFreezeWindow {
  return {
    env: row.env,
    window: JSON.parse(row.window_json) as FreezeWindow,
    createdAt: row.created_at,
    createdBy: row.created_by,
  };
}
