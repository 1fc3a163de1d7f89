import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';

export interface LeaseState {
  holder: string;
  expiresAt: string;
}

/** The controller lease row (SQLite; PostgreSQL uses an advisory lock). */
export interface LeaseStore {
  find(name: string): Promise<LeaseState | null>;
  /**
   * Takes or renews the lease for `holder` when it is free, expired at `now`, or already held by
   * `holder`; true when `holder` holds it afterwards. Run it inside a transaction.
   */
  acquire(name: string, holder: string, now: string, expiresAt: string): Promise<boolean>;
  /** Gives the lease up when `holder` holds it. */
  release(name: string, holder: string): Promise<void>;
}

export function createLeaseStore(db: Kysely<Database>): LeaseStore {
  const find = async (name: string): Promise<LeaseState | null> => {
    const row = await db
      .selectFrom('controller_lease')
      .select(['holder', 'expires_at'])
      .where('name', '=', name)
      .executeTakeFirst();
    return row === undefined ? null : { holder: row.holder, expiresAt: row.expires_at };
  };
  return {
    find,

    async acquire(name, holder, now, expiresAt) {
      const inserted = await db
        .insertInto('controller_lease')
        .values({ name, holder, expires_at: expiresAt, renewed_at: now })
        .onConflict((conflict) => conflict.column('name').doNothing())
        .executeTakeFirst();
      if ((inserted.numInsertedOrUpdatedRows ?? 0n) > 0n) return true;
      const result = await db
        .updateTable('controller_lease')
        .set({ holder, expires_at: expiresAt, renewed_at: now })
        .where('name', '=', name)
        .where((eb) => eb.or([eb('holder', '=', holder), eb('expires_at', '<=', now)]))
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async release(name, holder) {
      await db
        .deleteFrom('controller_lease')
        .where('name', '=', name)
        .where('holder', '=', holder)
        .execute();
    },
  };
}
