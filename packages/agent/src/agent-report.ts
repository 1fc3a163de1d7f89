/**
 * One report's body: the active pack and the last attempt as the state holds them when the
 * report starts, the runtime's traffic since the last report sent, and the health check
 * signal (run for the report outside a trial; during a trial, the trial's last check).
 */
import type { TargetHealth } from '@lockgate/core';
import type { WarningEvent } from './agent-events.ts';
import type { ResolvedAgentOptions } from './agent-options.ts';
import type { AgentState, HealthStatus } from './agent-state.ts';
import type { HealthCheckResult } from './health-check.ts';
import { messageOf } from './index-fetch.ts';
import { scrapeRuntimeMetrics, trafficDelta } from './runtime-metrics.ts';
import type { RuntimeSample } from './runtime-metrics.ts';
import type { ReportBody } from './server-client.ts';

export interface ReportInput {
  state: Pick<AgentState, 'active' | 'lastAttempt'>;
  options: Pick<ResolvedAgentOptions, 'runtimeMetrics' | 'healthCheck' | 'fetch'>;
  /** the sample of the last report sent: traffic is counted from it */
  reported: RuntimeSample | null;
  trialRunning: () => Promise<boolean>;
  /** runs the health check for this report */
  check: () => Promise<HealthCheckResult>;
  /** the trial's last check */
  lastHealth: () => HealthStatus | null;
  onWarning: (warning: WarningEvent) => void;
}

/** The body to send, and the runtime sample to keep once it was sent. */
export async function buildReport(
  input: ReportInput,
): Promise<{ body: ReportBody; sample: RuntimeSample | null }> {
  const { state, options } = input;
  const body: ReportBody = { activePack: state.active };
  if (state.lastAttempt !== null) body.lastAttempt = state.lastAttempt;
  const health: TargetHealth = {};
  let sample: RuntimeSample | null = null;
  const metrics = options.runtimeMetrics;
  if (metrics !== null) {
    try {
      sample = await scrapeRuntimeMetrics(options.fetch, metrics);
      Object.assign(health, trafficDelta(input.reported, sample, metrics));
    } catch (error) {
      const message = `The runtime metrics could not be read: ${messageOf(error)}`;
      input.onWarning({ code: 'RUNTIME_METRICS_UNAVAILABLE', message });
    }
  }
  if (options.healthCheck !== null) {
    // Outside a trial the check only informs the report.
    if (!(await input.trialRunning())) {
      const result = await input.check();
      health.signals = { health_check: result.ok ? 1 : 0 };
    } else {
      const last = input.lastHealth();
      if (last !== null) health.signals = { health_check: last.ok ? 1 : 0 };
    }
  }
  if (Object.keys(health).length > 0) body.health = health;
  return { body, sample };
}
