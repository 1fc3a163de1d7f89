import type { Kysely } from 'kysely';
import { pingDatabase } from './db/database.ts';
import type { Database } from './db/schema.ts';
import { createBuildStore } from './features/builds/build-store.ts';
import type { BuildStore } from './features/builds/build-store.ts';
import { createPackStore } from './features/packs/pack-store.ts';
import type { PackStore } from './features/packs/pack-store.ts';
import { createTokenStore } from './features/tokens/token-store.ts';
import type { TokenStore } from './features/tokens/token-store.ts';
import { createTrustStore } from './features/trust/trust-store.ts';
import type { TrustStore } from './features/trust/trust-store.ts';

export interface Stores {
  readonly packs: PackStore;
  readonly builds: BuildStore;
  readonly trust: TrustStore;
  readonly tokens: TokenStore;
  /**
   * Runs fn with stores bound to one transaction: committed when fn resolves, rolled back
   * when it throws. Called inside a transaction, it joins that transaction.
   */
  transaction<T>(fn: (stores: Stores) => Promise<T>): Promise<T>;
  /** Resolves when the database answers. */
  ping(): Promise<void>;
}

export function createStores(db: Kysely<Database>): Stores {
  const stores: Stores = {
    packs: createPackStore(db),
    builds: createBuildStore(db),
    trust: createTrustStore(db),
    tokens: createTokenStore(db),
    transaction: (fn) =>
      db.isTransaction ? fn(stores) : db.transaction().execute((trx) => fn(createStores(trx))),
    ping: () => pingDatabase(db),
  };
  return stores;
}
