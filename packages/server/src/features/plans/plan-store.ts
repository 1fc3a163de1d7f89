import type { Plan } from '@lockgate/core';
import type { Kysely, Selectable } from 'kysely';
import type { Database, PlansTable } from '../../db/schema.ts';

/** A user-defined plan (the built-in ones live in core). */
export interface StoredPlan {
  plan: Plan;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
}

export interface PlanStore {
  find(name: string): Promise<StoredPlan | null>;
  /** By name. */
  list(): Promise<StoredPlan[]>;
  /** Inserts the plan or replaces its stages; true when it was inserted. */
  upsert(plan: StoredPlan): Promise<boolean>;
}

export function createPlanStore(db: Kysely<Database>): PlanStore {
  const find = async (name: string): Promise<StoredPlan | null> => {
    const row = await db
      .selectFrom('plans')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    return row === undefined ? null : fromRow(row);
  };
  return {
    find,

    async list() {
      const rows = await db.selectFrom('plans').selectAll().orderBy('name').execute();
      return rows.map(fromRow);
    },

    async upsert(stored) {
      const inserted = await db
        .insertInto('plans')
        .values({
          name: stored.plan.name,
          plan_json: JSON.stringify(stored.plan),
          created_at: stored.createdAt,
          created_by: stored.createdBy,
          updated_at: stored.updatedAt,
          updated_by: stored.updatedBy,
        })
        .onConflict((conflict) => conflict.column('name').doNothing())
        .executeTakeFirst();
      if ((inserted.numInsertedOrUpdatedRows ?? 0n) > 0n) return true;
      await db
        .updateTable('plans')
        .set({
          plan_json: JSON.stringify(stored.plan),
          updated_at: stored.updatedAt,
          updated_by: stored.updatedBy,
        })
        .where('name', '=', stored.plan.name)
        .execute();
      return false;
    },
  };
}

function fromRow(row: Selectable<PlansTable>): StoredPlan {
  return {
    plan: JSON.parse(row.plan_json) as Plan,
    createdAt: row.created_at,
    createdBy: row.created_by,
    updatedAt: row.updated_at,
    updatedBy: row.updated_by,
  };
}
