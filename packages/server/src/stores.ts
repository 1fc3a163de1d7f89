import type { Kysely } from 'kysely';
import { pingDatabase } from './db/database.ts';
import type { Database } from './db/schema.ts';
import { createStatements } from './db/statement-parts.ts';
import type { Statements } from './db/statement-parts.ts';
import { createBuildStore } from './features/builds/index.ts';
import type { BuildStore } from './features/builds/index.ts';
import { createChannelStore } from './features/channels/index.ts';
import type { ChannelStore } from './features/channels/index.ts';
import { createLeaseStore } from './features/controller/index.ts';
import type { LeaseStore } from './features/controller/index.ts';
import { createDecisionStore } from './features/decisions/index.ts';
import type { DecisionStore } from './features/decisions/index.ts';
import { createEnvironmentStore } from './features/environments/index.ts';
import type { EnvironmentStore } from './features/environments/index.ts';
import { createIdempotencyStore } from './features/idempotency/index.ts';
import type { IdempotencyStore } from './features/idempotency/index.ts';
import { createMetricsStore } from './features/metrics/index.ts';
import type { MetricsStore } from './features/metrics/index.ts';
import { createLogStore } from './features/log/index.ts';
import type { LogStore } from './features/log/index.ts';
import { createPackStore } from './features/packs/index.ts';
import type { PackStore } from './features/packs/index.ts';
import { createPlanStore } from './features/plans/index.ts';
import type { PlanStore } from './features/plans/index.ts';
import { createReleaseStore } from './features/releases/index.ts';
import type { ReleaseStore } from './features/releases/index.ts';
import { createRevocationStore } from './features/revocations/index.ts';
import type { RevocationStore } from './features/revocations/index.ts';
import { createServerKeyStore } from './features/server-keys/index.ts';
import type { ServerKeyStore } from './features/server-keys/index.ts';
import { createTargetStore } from './features/targets/index.ts';
import type { ReportBatchWriter, TargetStore } from './features/targets/index.ts';
import { createTokenStore } from './features/tokens/index.ts';
import type { TokenStore } from './features/tokens/index.ts';
import { createTrustStore } from './features/trust/index.ts';
import { createWebhookStore } from './features/webhooks/index.ts';
import type { WebhookStore } from './features/webhooks/index.ts';
import type { TrustStore } from './features/trust/index.ts';
import { createDecisionContextStore } from './features/replays/index.ts';
import type { DecisionContextStore } from './features/replays/index.ts';
import { createReplayStore } from './features/replays/index.ts';
import type { ReplayStore } from './features/replays/index.ts';
import { createSloStore } from './features/operations/index.ts';
import type { SloStore } from './features/operations/index.ts';

/** Every feature's store, by name. */
export interface StoreMap {
  readonly packs: PackStore;
  readonly builds: BuildStore;
  readonly trust: TrustStore;
  readonly tokens: TokenStore;
  readonly environments: EnvironmentStore;
  readonly channels: ChannelStore;
  readonly revocations: RevocationStore;
  readonly plans: PlanStore;
  readonly targets: TargetStore;
  readonly releases: ReleaseStore;
  readonly decisions: DecisionStore;
  readonly serverKeys: ServerKeyStore;
  readonly lease: LeaseStore;
  readonly idempotency: IdempotencyStore;
  /** aggregate reads for /metrics */
  readonly metrics: MetricsStore;
  readonly webhooks: WebhookStore;
  readonly log: LogStore;
  /** the decision contexts core decided on, content-addressed (kept as long as the records) */
  readonly contexts: DecisionContextStore;
  readonly replays: ReplayStore;
  /** per-minute events of service level indicators, for the error budget policy */
  readonly slo: SloStore;
  /**
   * Runs the parts stores hand out (`…Part`, `…Parts`) together: one statement on PostgreSQL,
   * one after another on SQLite (db/statement-parts.ts).
   */
  readonly statements: Statements;
}

/**
 * The stores a piece of the server may use, and nothing else: a service declares the names it
 * needs (`StoresOf<'packs' | 'builds'>`) and its transactions hand back the same narrowed view.
 * The full `Stores` is one of these for every name, so the composition root passes it as is.
 */
export type StoresOf<K extends keyof StoreMap> = Pick<StoreMap, K> & {
  /**
   * Runs fn with these stores bound to one transaction: committed when fn resolves, rolled
   * back when it throws. Called inside a transaction, it joins that transaction.
   */
  transaction<T>(fn: (stores: StoresOf<K>) => Promise<T>): Promise<T>;
};

export interface Stores extends StoreMap {
  /**
   * Runs fn with stores bound to one transaction: committed when fn resolves, rolled back
   * when it throws. Called inside a transaction, it joins that transaction.
   */
  transaction<T>(fn: (stores: Stores) => Promise<T>): Promise<T>;
  /** Resolves when the database answers. */
  ping(): Promise<void>;
}

export interface StoresOptions {
  /** where batches of reports written outside a transaction go (SQLite: report-writer.ts) */
  reportWriter?: ReportBatchWriter;
}

export function createStores(db: Kysely<Database>, options: StoresOptions = {}): Stores {
  const stores: Stores = {
    packs: createPackStore(db),
    builds: createBuildStore(db),
    trust: createTrustStore(db),
    tokens: createTokenStore(db),
    environments: createEnvironmentStore(db),
    channels: createChannelStore(db),
    revocations: createRevocationStore(db),
    plans: createPlanStore(db),
    targets: createTargetStore(db, options.reportWriter),
    releases: createReleaseStore(db),
    decisions: createDecisionStore(db),
    serverKeys: createServerKeyStore(db),
    lease: createLeaseStore(db),
    idempotency: createIdempotencyStore(db),
    metrics: createMetricsStore(db),
    webhooks: createWebhookStore(db),
    log: createLogStore(db),
    contexts: createDecisionContextStore(db),
    replays: createReplayStore(db),
    slo: createSloStore(db),
    statements: createStatements(db),
    transaction: (fn) =>
      db.isTransaction ? fn(stores) : db.transaction().execute((trx) => fn(createStores(trx))),
    ping: () => pingDatabase(db),
  };
  return stores;
}
