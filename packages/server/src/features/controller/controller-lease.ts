import { Client } from 'pg';
import type { StoresOf } from '../../stores.ts';

/** The stores this module uses, and no others. */
type UsedStores = StoresOf<'lease'>;

/** The one controller that may advance releases holds this lease. */
export interface ControllerLease {
  readonly holder: string;
  /** Takes or renews the lease; true when this process holds it now. */
  acquire(now: Date): Promise<boolean>;
  /** Checked inside each decision's transaction: true while this process still holds it. */
  stillHeld(tx: UsedStores, now: Date): Promise<boolean>;
  /** Gives the lease up (so another replica takes over at once) and frees its resources. */
  release(): Promise<void>;
}

export const LEASE_NAME = 'controller';

/**
 * SQLite: a lease row (holder, expires_at) renewed on every tick; another process takes it only
 * after it expired. Times come from the injected clock.
 */
export function createSqliteLease(deps: {
  stores: UsedStores;
  holder: string;
  ttlMs: number;
}): ControllerLease {
  const { stores, holder, ttlMs } = deps;
  let acquired = false;
  return {
    holder,
    async acquire(now) {
      const held = await stores.transaction((tx) =>
        tx.lease.acquire(
          LEASE_NAME,
          holder,
          now.toISOString(),
          new Date(now.getTime() + ttlMs).toISOString(),
        ),
      );
      acquired ||= held;
      return held;
    },
    async stillHeld(tx, now) {
      const lease = await tx.lease.find(LEASE_NAME);
      return lease?.holder === holder && lease.expiresAt > now.toISOString();
    },
    async release() {
      if (!acquired) return;
      acquired = false;
      try {
        await stores.lease.release(LEASE_NAME, holder);
      } catch {
        // Best effort: an unreleased lease expires after ttlMs.
      }
    },
  };
}

/** The advisory lock key: "Lockgate" as a 64-bit integer. */
export const ADVISORY_LOCK_KEY = '5507717233520976997';

/**
 * PostgreSQL: a session advisory lock (pg_try_advisory_lock) held on a dedicated connection.
 * The lock lives as long as that session: when the process dies, PostgreSQL ends the session and
 * another replica's next try succeeds. A broken connection counts as a lost lease.
 */
export function createPostgresLease(deps: {
  url: string;
  holder: string;
  onError?: (error: unknown) => void;
}): ControllerLease {
  const { url, holder } = deps;
  let client: Client | null = null;
  let held = false;

  const drop = (broken: Client | null = client): void => {
    if (broken === null || broken !== client) return;
    client = null;
    held = false;
    void broken.end().catch(() => undefined);
  };

  return {
    holder,
    async acquire() {
      try {
        if (client !== null && held) {
          await client.query('select 1');
          return true;
        }
        if (client === null) {
          const connecting = new Client({
            connectionString: url,
            application_name: `lockgate-controller ${holder}`.slice(0, 63),
          });
          connecting.on('error', (error) => {
            deps.onError?.(error);
            drop(connecting);
          });
          await connecting.connect();
          client = connecting;
        }
        const result = await client.query<{ locked: boolean }>(
          'select pg_try_advisory_lock($1::bigint) as locked',
          [ADVISORY_LOCK_KEY],
        );
        held = result.rows[0]?.locked === true;
        return held;
      } catch (error) {
        deps.onError?.(error);
        drop();
        return false;
      }
    },
    stillHeld() {
      return Promise.resolve(held && client !== null);
    },
    async release() {
      const current = client;
      client = null;
      if (current === null) return;
      try {
        if (held) await current.query('select pg_advisory_unlock($1::bigint)', [ADVISORY_LOCK_KEY]);
      } catch {
        // Ending the session below releases the lock anyway.
      } finally {
        held = false;
        await current.end().catch(() => undefined);
      }
    },
  };
}
