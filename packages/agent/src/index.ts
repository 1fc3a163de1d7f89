export { Agent, createAgent } from './agent.ts';
export type {
  ActivatedEvent,
  AgentEventMap,
  AgentStatus,
  CommittedEvent,
  RecoveryResult,
  RejectedEvent,
  RepairedEvent,
  RevertedEvent,
  SyncOutcome,
  VerifiedEvent,
  WarningEvent,
} from './agent-events.ts';
export { parseListenAddress, resolveAgentOptions, systemClock } from './agent-options.ts';
export type {
  AgentOptions,
  Clock,
  ListenAddress,
  ResolvedAgentOptions,
  RuntimeMetricsSpec,
} from './agent-options.ts';
export { AGENT_PHASES, AgentMetrics, listenForMetrics } from './agent-metrics.ts';
export type { AgentPhase, AgentSnapshot, MetricsListener } from './agent-metrics.ts';
export { AGENT_CODES, AgentError } from './agent-codes.ts';
export type { AgentCode, AttemptCode } from './agent-codes.ts';
export { AGENT_STATE_SCHEMA, AgentPaths, TRIAL_SCHEMA } from './agent-state.ts';
export type { AgentState, FailedPack, HealthStatus, TrialRecord } from './agent-state.ts';
export type { HealthCheckSpec, HealthCheckResult } from './health-check.ts';
export { runHealthCheck } from './health-check.ts';
export {
  checkCompatibility,
  checkPolicy,
  verifyInstalledPack,
  verifyPackFile,
} from './pack-verification.ts';
export type { PackPayload, PolicyInput, RuntimeProfile } from './pack-verification.ts';
export {
  DEFAULT_RUNTIME_METRIC_NAMES,
  histogramQuantile,
  MAX_LATENCY_SIGNALS,
  parseRuntimeSample,
  slowerCounts,
  slowerThanSignal,
  trafficDelta,
} from './runtime-metrics.ts';
export type { RuntimeMetricNames, RuntimeSample, TrafficDelta } from './runtime-metrics.ts';
export { readServerSentEvents } from './sse-reader.ts';
export type { ServerSentEvent } from './sse-reader.ts';
