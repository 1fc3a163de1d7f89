import type { Kysely } from 'kysely';
import { pingDatabase } from './db/database.ts';
import type { Database } from './db/schema.ts';
import { createBuildStore } from './features/builds/build-store.ts';
import type { BuildStore } from './features/builds/build-store.ts';
import { createChannelStore } from './features/channels/channel-store.ts';
import type { ChannelStore } from './features/channels/channel-store.ts';
import { createLeaseStore } from './features/controller/lease-store.ts';
import type { LeaseStore } from './features/controller/lease-store.ts';
import { createDecisionStore } from './features/decisions/decision-store.ts';
import type { DecisionStore } from './features/decisions/decision-store.ts';
import { createEnvironmentStore } from './features/environments/environment-store.ts';
import type { EnvironmentStore } from './features/environments/environment-store.ts';
import { createIdempotencyStore } from './features/idempotency/idempotency-store.ts';
import type { IdempotencyStore } from './features/idempotency/idempotency-store.ts';
import { createMetricsStore } from './features/metrics/metrics-store.ts';
import type { MetricsStore } from './features/metrics/metrics-store.ts';
import { createLogStore } from './features/log/log-store.ts';
import type { LogStore } from './features/log/log-store.ts';
import { createPackStore } from './features/packs/pack-store.ts';
import type { PackStore } from './features/packs/pack-store.ts';
import { createPlanStore } from './features/plans/plan-store.ts';
import type { PlanStore } from './features/plans/plan-store.ts';
import { createReleaseStore } from './features/releases/release-store.ts';
import type { ReleaseStore } from './features/releases/release-store.ts';
import { createRevocationStore } from './features/revocations/revocation-store.ts';
import type { RevocationStore } from './features/revocations/revocation-store.ts';
import { createServerKeyStore } from './features/server-keys/server-key-store.ts';
import type { ServerKeyStore } from './features/server-keys/server-key-store.ts';
import { createTargetStore } from './features/targets/target-store.ts';
import type { TargetStore } from './features/targets/target-store.ts';
import { createTokenStore } from './features/tokens/token-store.ts';
import type { TokenStore } from './features/tokens/token-store.ts';
import { createTrustStore } from './features/trust/trust-store.ts';
import { createWebhookStore } from './features/webhooks/webhook-store.ts';
import type { WebhookStore } from './features/webhooks/webhook-store.ts';
import type { TrustStore } from './features/trust/trust-store.ts';
import { createDecisionContextStore } from './features/replays/decision-context-store.ts';
import type { DecisionContextStore } from './features/replays/decision-context-store.ts';
import { createReplayStore } from './features/replays/replay-store.ts';
import { createSloStore } from './features/operations/slo-store.ts';
import type { SloStore } from './features/operations/slo-store.ts';
import type { ReplayStore } from './features/replays/replay-store.ts';

export interface Stores {
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
    environments: createEnvironmentStore(db),
    channels: createChannelStore(db),
    revocations: createRevocationStore(db),
    plans: createPlanStore(db),
    targets: createTargetStore(db),
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
    transaction: (fn) =>
      db.isTransaction ? fn(stores) : db.transaction().execute((trx) => fn(createStores(trx))),
    ping: () => pingDatabase(db),
  };
  return stores;
}
