import type { BlobStore } from './blob-store.ts';
import type { Clock } from './clock.ts';
import type { ServerConfig } from './config.ts';
import { createBuildService } from './features/builds/index.ts';
import type { BuildService } from './features/builds/index.ts';
import { createChannelEvents } from './features/channels/index.ts';
import type { ChannelEvents } from './features/channels/index.ts';
import { createChannelService } from './features/channels/index.ts';
import type { ChannelService } from './features/channels/index.ts';
import { createController, newHolderId } from './features/controller/index.ts';
import type { Controller } from './features/controller/index.ts';
import { createPostgresLease, createSqliteLease } from './features/controller/index.ts';
import { createDecisionService } from './features/decisions/index.ts';
import type { DecisionService } from './features/decisions/index.ts';
import { createEnvironmentService } from './features/environments/index.ts';
import type { EnvironmentService } from './features/environments/index.ts';
import { createFreezeService } from './features/freezes/index.ts';
import type { FreezeService } from './features/freezes/index.ts';
import { createHealthService } from './features/health/index.ts';
import type { HealthService } from './features/health/index.ts';
import { createMetricsService } from './features/metrics/index.ts';
import type { MetricsService } from './features/metrics/index.ts';
import { createPrometheusAnswers } from './features/metrics/index.ts';
import { createEvidenceService } from './features/evidence/index.ts';
import type { EvidenceService } from './features/evidence/index.ts';
import { createLogService } from './features/log/index.ts';
import type { LogService } from './features/log/index.ts';
import { createPackService } from './features/packs/index.ts';
import type { PackService } from './features/packs/index.ts';
import { createPlanService } from './features/plans/index.ts';
import type { PlanService } from './features/plans/index.ts';
import { createReleaseInputs, createReleaseService } from './features/releases/index.ts';
import { createReplayService } from './features/replays/index.ts';
import type { ReplayService } from './features/replays/index.ts';
import type { ReleaseInputs, ReleaseService } from './features/releases/index.ts';
import { createRevocationService } from './features/revocations/index.ts';
import type { RevocationService } from './features/revocations/index.ts';
import { createServerKeyService } from './features/server-keys/index.ts';
import type { ServerKeyService } from './features/server-keys/index.ts';
import { createCheckinCache } from './features/targets/index.ts';
import type { CheckinCache } from './features/targets/index.ts';
import { createTargetService } from './features/targets/index.ts';
import type { TargetService } from './features/targets/index.ts';
import { createTokenService } from './features/tokens/index.ts';
import type { TokenService } from './features/tokens/index.ts';
import { createTrustService } from './features/trust/index.ts';
import type { TrustService } from './features/trust/index.ts';
import { createWebhookService } from './features/webhooks/index.ts';
import type { WebhookService } from './features/webhooks/index.ts';
import type { WebhookWorkerOptions } from './features/webhooks/index.ts';
import type { ReportQueueOptions } from './features/targets/index.ts';
import { createErrorBudgetPolicy, createOperationsJobs } from './features/operations/index.ts';
import type { OperationsJobs } from './features/operations/index.ts';
import { createPostgresChangeFeed } from './postgres-change-feed.ts';
import type { PostgresChangeFeed } from './postgres-change-feed.ts';
import type { Signals } from './signals.ts';
import type { Stores } from './stores.ts';

export interface Services {
  readonly packs: PackService;
  readonly builds: BuildService;
  readonly trust: TrustService;
  readonly tokens: TokenService;
  readonly health: HealthService;
  readonly environments: EnvironmentService;
  readonly channels: ChannelService;
  readonly plans: PlanService;
  readonly targets: TargetService;
  readonly releases: ReleaseService;
  /** replays of a release's decisions on the current core */
  readonly replays: ReplayService;
  readonly revocations: RevocationService;
  readonly decisions: DecisionService;
  readonly serverKeys: ServerKeyService;
  /** What /metrics exports. */
  readonly metrics: MetricsService;
  /** Webhook subscriptions; its worker posts deliveries once started (the server starts it). */
  readonly webhooks: WebhookService;
  /** Stop the line (freeze every environment now), lift, and the error budget policy. */
  readonly freezes: FreezeService;
  readonly log: LogService;
  readonly evidence: EvidenceService;
  /** Index-version events for SSE streams. */
  readonly events: ChannelEvents;
  /**
   * What the controller's ticks keep between them per channel (targets, stage, reports), shared
   * with operator commands and status reads.
   */
  readonly releaseInputs: ReleaseInputs;
  /** The release controller; not running until started (tests call tick()). */
  readonly controller: Controller;
  /**
   * Checkpoint signing, freeze window starts and the error budget policy; not running until
   * started (the server starts it; tests call runOnce()).
   */
  readonly operations: OperationsJobs;
  /** Stops the controller (giving its lease up) and the event hub. */
  close(): Promise<void>;
}

export interface ServiceOptions {
  /** The controller's holder id (default host:pid:random). */
  holder?: string;
  /** How often the event hub polls stored index versions (default 1000 ms). */
  eventsPollMs?: number;
  /**
   * How long check-in reads (channel index, target, token) are served from memory without a
   * change being told (default 1000 ms): the bound on seeing another replica's change.
   */
  cacheMaxAgeMs?: number;
  /** Errors of controller ticks; the server logs them. */
  onControllerError?: (error: unknown, context: Record<string, unknown>) => void;
  /** How often the operations jobs run (default 15 s). */
  operationsIntervalMs?: number;
  /** Webhook delivery settings (poll interval, retry backoff, timeout). */
  webhooks?: Omit<WebhookWorkerOptions, 'stores' | 'clock'>;
  /** Sizes of the reports' group-commit queue (default: capacity 20,000, batches of 500). */
  reportQueue?: Pick<ReportQueueOptions, 'capacity' | 'maxBatch' | 'lingerMs'>;
}

export function createServices(
  config: ServerConfig,
  stores: Stores,
  blobs: BlobStore,
  clock: Clock,
  options: ServiceOptions = {},
): Services {
  const holder = options.holder ?? newHolderId();
  const onError = (error: unknown, context: Record<string, unknown>): void =>
    options.onControllerError?.(error, context);
  // PostgreSQL: other replicas' changes as they commit (LISTEN/NOTIFY); SQLite has one process.
  const feed: PostgresChangeFeed | null =
    config.database.dialect === 'postgres'
      ? createPostgresChangeFeed({
          url: config.database.url,
          name: `lockgate-changes ${holder}`,
          onError: (error) => onError(error, { step: 'change-feed' }),
        })
      : null;
  const feedOption = feed === null ? {} : { feed };
  // Check-ins read the index and the target from memory; every published version reaches it.
  let checkin: CheckinCache | null = null;
  const events = createChannelEvents({
    stores,
    ...feedOption,
    onPublish: (key, version) => checkin?.indexChanged(key, version),
    ...(options.eventsPollMs === undefined ? {} : { pollIntervalMs: options.eventsPollMs }),
  });
  const serverKeys = createServerKeyService({ config, stores, clock });
  const metrics = createMetricsService({
    stores,
    clock,
    onError: (error) => onError(error, { step: 'metrics' }),
  });
  const lease =
    config.database.dialect === 'postgres'
      ? createPostgresLease({
          url: config.database.url,
          holder,
          onError: (error) => onError(error, { step: 'lease' }),
        })
      : createSqliteLease({
          stores,
          holder,
          ttlMs: Math.max(1000, 5 * config.controllerIntervalMs),
        });
  // what controller ticks keep between them, read by operator commands too
  const releaseInputs = createReleaseInputs({
    onWindowRead: (key, reports) => metrics.observeWindowRead(key, reports),
  });
  const controller = createController({
    stores,
    blobs,
    clock,
    keys: serverKeys,
    lease,
    intervalMs: config.controllerIntervalMs,
    indexChanged: (key, version) => events.publish(key, version),
    onError,
    onTick: (result, seconds) => metrics.observeTick(result, seconds),
    gateAnswers: createPrometheusAnswers({ stores, blobs, prometheusUrl: config.prometheusUrl }),
    inputs: releaseInputs,
  });
  const signals: Signals = {
    indexChanged: (key, version) => events.publish(key, version),
    wakeController: () => controller.wake(),
  };
  const channels = createChannelService({ stores, clock, keys: serverKeys, signals });
  const webhooks = createWebhookService({
    stores,
    clock,
    worker: {
      onError: (error) => onError(error, { step: 'webhooks' }),
      ...options.webhooks,
    },
  });
  checkin = createCheckinCache({
    loadIndex: (env, name) => channels.index(env, name),
    loadTarget: (id) => stores.targets.find(id),
    targetsUpdatedSince: (since) => stores.targets.updatedSince(since),
    ...feedOption,
    ...(options.cacheMaxAgeMs === undefined ? {} : { maxAgeMs: options.cacheMaxAgeMs }),
  });
  const checkinCache = checkin;
  const tokens = createTokenService({
    config,
    stores,
    clock,
    onRevoked: (tokenIds) => events.endStreamsOf(tokenIds),
    ...feedOption,
    ...(options.cacheMaxAgeMs === undefined ? {} : { cacheMaxAgeMs: options.cacheMaxAgeMs }),
  });
  const log = createLogService({ config, stores, clock });
  const targets = createTargetService({
    stores,
    clock,
    signals,
    checkin: checkinCache,
    // the controller's catch-ups take what this replica committed instead of reading it
    onCommitted: (batch) => releaseInputs.offer(batch),
    onReport: (report) => metrics.observeReport(report),
    ...(options.reportQueue === undefined ? {} : { reportQueue: options.reportQueue }),
  });
  const freezes = createFreezeService({ stores, clock, signals });
  const operations = createOperationsJobs({
    log,
    freezes,
    clock,
    errorBudget:
      config.errorBudget === null
        ? null
        : createErrorBudgetPolicy({
            stores,
            freezes,
            takeCounts: () => metrics.takeAvailability(),
            observe: (slo, budget) => metrics.observeErrorBudget(slo, budget),
            clock,
            config: config.errorBudget,
            onError: (error, env) => onError(error, { step: 'error-budget', env }),
          }),
    ...(options.operationsIntervalMs === undefined
      ? {}
      : { intervalMs: options.operationsIntervalMs }),
    onError: (error, step) => onError(error, { step }),
  });
  feed?.start();
  let closing: Promise<void> | null = null;
  return Object.freeze({
    packs: createPackService({ stores, blobs, clock }),
    builds: createBuildService({ stores, clock }),
    trust: createTrustService({ stores, clock }),
    tokens,
    health: createHealthService({ stores }),
    environments: createEnvironmentService({ stores, clock, channels, signals }),
    channels: { ...channels, index: (env: string, name: string) => checkinCache.index(env, name) },
    plans: createPlanService({ stores, clock }),
    targets,
    releases: createReleaseService({
      stores,
      blobs,
      clock,
      keys: serverKeys,
      signals,
      inputs: releaseInputs,
    }),
    replays: createReplayService({ stores, clock, onError }),
    revocations: createRevocationService({ stores, clock, keys: serverKeys, signals }),
    decisions: createDecisionService({ stores }),
    serverKeys,
    metrics,
    webhooks,
    freezes,
    log,
    evidence: createEvidenceService({ stores, log }),
    events,
    releaseInputs,
    controller,
    operations,
    close: () =>
      (closing ??= (async () => {
        try {
          await targets.drain();
          await controller.stop();
          await operations.stop();
          await webhooks.worker.stop();
        } finally {
          events.close();
          checkinCache.close();
          tokens.close();
          await feed?.stop();
        }
      })()),
  });
}
