/**
 * Every metric the server exports, on a registry of its own (one per app, so two apps in one
 * process never share counters). Names follow the Prometheus conventions: `lockgate_` prefix,
 * base units in the name (`_seconds`, `_bytes`), `_total` on counters. Label values are bounded
 * sets: codes, rules, states, route patterns, and env/channel names (few, operator-made) —
 * never a target id or a release id.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds: 50 ms to 1 h, for activation, restore and stage durations. */
const SLOW_BUCKETS = [0.05, 0.25, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];
/** Seconds: 1 ms to 10 s, for requests and controller ticks. */
const FAST_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface LockgateMetrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'method' | 'route' | 'status_code'>;
  readonly httpDuration: Histogram<'method' | 'route'>;
  readonly agentReports: Counter;
  readonly agentVerifications: Counter<'result' | 'code'>;
  readonly agentActivations: Counter<'result' | 'code'>;
  readonly agentReverts: Counter<'result' | 'code'>;
  readonly timeToActivate: Histogram;
  readonly fetchFailures: Counter<'code'>;
  readonly cacheCorruptions: Counter<'code'>;
  readonly decisions: Counter<'kind' | 'rule' | 'verdict'>;
  readonly rollbacks: Counter<'trigger'>;
  readonly rollbackFlaps: Counter;
  readonly timeToRestore: Histogram;
  readonly stageDuration: Histogram<'outcome'>;
  readonly releases: Gauge<'state'>;
  readonly releaseSinceChange: Gauge<'state'>;
  readonly tickDuration: Histogram;
  readonly tickFailures: Counter;
  readonly windowReads: Counter<'env' | 'channel'>;
  readonly windowReadReports: Counter<'env' | 'channel'>;
  readonly leader: Gauge;
  readonly lastTick: Gauge;
  readonly controllerLag: Gauge;
  readonly indexVersion: Gauge<'env' | 'channel'>;
  readonly indexExpiry: Gauge<'env' | 'channel'>;
  readonly channelTargets: Gauge<'env' | 'channel'>;
  readonly channelDrift: Gauge<'env' | 'channel'>;
  readonly channelSilent: Gauge<'env' | 'channel'>;
  readonly decisionLogRecords: Gauge;
  readonly logCheckpointRecords: Gauge;
  readonly logCheckpointAge: Gauge;
  readonly errorBudgetRemaining: Gauge<'slo'>;
  readonly errorBudgetEvents: Gauge<'slo' | 'kind'>;
}

export function createLockgateMetrics(): LockgateMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers });
  const gauge = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
    new Gauge<L>({ name, help, labelNames, registers });
  const histogram = <L extends string>(
    name: string,
    help: string,
    buckets: number[],
    labelNames: L[] = [],
  ) => new Histogram<L>({ name, help, labelNames, buckets, registers });
  const channel: ('env' | 'channel')[] = ['env', 'channel'];

  const metrics: LockgateMetrics = {
    registry,
    httpRequests: counter(
      'lockgate_http_requests_total',
      'HTTP requests answered, by route pattern and status.',
      ['method', 'route', 'status_code'],
    ),
    httpDuration: histogram(
      'lockgate_http_request_duration_seconds',
      'HTTP request latency by route pattern.',
      FAST_BUCKETS,
      ['method', 'route'],
    ),
    agentReports: counter('lockgate_agent_reports_total', 'Target reports received.'),
    agentVerifications: counter(
      'lockgate_agent_verifications_total',
      'Pack verifications agents reported, by result and reason code (OK when none).',
      ['result', 'code'],
    ),
    agentActivations: counter(
      'lockgate_agent_activations_total',
      'Pack activations agents reported, by result and reason code.',
      ['result', 'code'],
    ),
    agentReverts: counter(
      'lockgate_agent_reverts_total',
      'Reverts to the previous pack agents reported, by result and reason code.',
      ['result', 'code'],
    ),
    timeToActivate: histogram(
      'lockgate_agent_time_to_activate_seconds',
      'From the start of the stage that made a pack desired to the agent reporting it active.',
      SLOW_BUCKETS,
    ),
    fetchFailures: counter(
      'lockgate_agent_pack_fetch_failures_total',
      'Packs that failed to arrive intact (fetch, archive or digest checks), by code.',
      ['code'],
    ),
    cacheCorruptions: counter(
      'lockgate_agent_cache_corruptions_total',
      'Installed packs agents found damaged on disk (repaired or not), by code.',
      ['code'],
    ),
    decisions: counter(
      'lockgate_decisions_total',
      'Decision records appended, by kind, rule and verdict.',
      ['kind', 'rule', 'verdict'],
    ),
    rollbacks: counter(
      'lockgate_rollbacks_total',
      'Releases rolled back, by the rule that triggered it.',
      ['trigger'],
    ),
    rollbackFlaps: counter(
      'lockgate_rollback_flaps_total',
      'Rollbacks of a channel within an hour of its previous rollback.',
    ),
    timeToRestore: histogram(
      'lockgate_rollback_time_to_restore_seconds',
      "From a rollback to every target of the channel reporting the channel's base again.",
      SLOW_BUCKETS,
    ),
    stageDuration: histogram(
      'lockgate_release_stage_duration_seconds',
      'How long release stages ran, by how they ended.',
      SLOW_BUCKETS,
      ['outcome'],
    ),
    releases: gauge('lockgate_releases', 'Releases by state.', ['state']),
    releaseSinceChange: gauge(
      'lockgate_release_max_seconds_since_change',
      'Seconds since the least recently changed live release changed, by its state.',
      ['state'],
    ),
    tickDuration: histogram(
      'lockgate_controller_tick_duration_seconds',
      'Duration of controller ticks of this process.',
      FAST_BUCKETS,
    ),
    tickFailures: counter(
      'lockgate_controller_tick_failures_total',
      'Releases whose reconciliation failed in a tick (retried on the next).',
    ),
    windowReads: counter(
      'lockgate_controller_window_reads_total',
      "Reads of a channel's whole gate window from the database for the kept release inputs: one when the channel is first decided on, more only when a decision asks for older reports than those held.",
      channel,
    ),
    windowReadReports: counter(
      'lockgate_controller_window_read_reports_total',
      'Reports read by those reads of whole gate windows.',
      channel,
    ),
    leader: gauge(
      'lockgate_controller_leader',
      '1 when this process held the controller lease at its last tick, else 0.',
    ),
    lastTick: gauge(
      'lockgate_controller_last_tick_timestamp_seconds',
      'Unix time the last controller tick of this process ended.',
    ),
    controllerLag: gauge(
      'lockgate_controller_lag_seconds',
      "Seconds since this process's last controller tick ended (the next is due every interval).",
    ),
    indexVersion: gauge(
      'lockgate_channel_index_version',
      'Version of the signed channel index.',
      channel,
    ),
    indexExpiry: gauge(
      'lockgate_channel_index_expiry_seconds',
      'Seconds until the signed channel index expires (negative when expired).',
      channel,
    ),
    channelTargets: gauge('lockgate_channel_targets', 'Registered targets per channel.', channel),
    channelDrift: gauge(
      'lockgate_channel_drift_targets',
      'Targets whose active pack is not the one the channel index gives them.',
      channel,
    ),
    channelSilent: gauge(
      'lockgate_channel_silent_targets',
      'Targets that have not reported for 5 minutes (or never, 5 minutes after registering).',
      channel,
    ),
    decisionLogRecords: gauge('lockgate_decision_log_records', 'Records in the decision log.'),
    logCheckpointRecords: gauge(
      'lockgate_log_checkpoint_records',
      'Records the latest signed checkpoint of the log covers (0 before the first).',
    ),
    logCheckpointAge: gauge(
      'lockgate_log_checkpoint_age_seconds',
      'Seconds since the latest checkpoint was signed; before the first, since the first record (0 for an empty log).',
    ),
    errorBudgetRemaining: gauge(
      'lockgate_error_budget_remaining_ratio',
      "Fraction of the SLO's error budget left in the policy's window at its last run (1 untouched, 0 or less spent); absent while too few events.",
      ['slo'],
    ),
    errorBudgetEvents: gauge(
      'lockgate_error_budget_window_events',
      "Events of the SLO in the error budget policy's window at its last run, by kind (good, total).",
      ['slo', 'kind'],
    ),
  };
  metrics.agentReports.inc(0);
  metrics.rollbackFlaps.inc(0);
  metrics.tickFailures.inc(0);
  return metrics;
}
