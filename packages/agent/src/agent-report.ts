/**
 * One report's body: the active pack and the last attempt as the state holds them when the
 * report starts, the runtime's traffic since the last report sent, and the health check
 * signal (run for the report outside a trial; during a trial, the trial's last check).
 */
import { isLockgateError } from '@lockgate/core';
import type { TargetHealth } from '@lockgate/core';
import { AgentError } from './agent-codes.ts';
import type { WarningEvent } from './agent-events.ts';
import type { ResolvedAgentOptions } from './agent-options.ts';
import type { AgentState, HealthStatus } from './agent-state.ts';
import type { HealthCheckResult } from './health-check.ts';
import { messageOf } from './index-fetch.ts';
import { scrapeRuntimeMetrics, trafficDelta } from './runtime-metrics.ts';
import type { RuntimeSample } from './runtime-metrics.ts';
import type { ReportBody, ServerClient } from './server-client.ts';

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
      health.signals = { ...health.signals, health_check: result.ok ? 1 : 0 };
    } else {
      const last = input.lastHealth();
      if (last !== null) health.signals = { ...health.signals, health_check: last.ok ? 1 : 0 };
    }
  }
  if (Object.keys(health).length > 0) body.health = health;
  return { body, sample };
}

/** A warning for a failed call to the server: the error's own code, else SERVER_UNREACHABLE. */
export function serverWarning(error: unknown): WarningEvent {
  const code =
    error instanceof AgentError || isLockgateError(error) ? error.code : 'SERVER_UNREACHABLE';
  return { code, message: messageOf(error) };
}

export interface ReporterHooks {
  /** the machine's state now; null before the directory was recovered */
  state: () => AgentState | null;
  trialRunning: () => Promise<boolean>;
  /** runs the health check for a report (and feeds its result to the machine) */
  check: (signal: AbortSignal | undefined) => Promise<HealthCheckResult>;
  onWarning: (warning: WarningEvent) => void;
}

/**
 * Registers the target once and sends reports, keeping the runtime sample of the last report
 * sent (traffic is counted from it). A failure is a warning, never a throw: reports are retried
 * on the next interval.
 */
export class Reporter {
  readonly #client: ServerClient;
  readonly #options: ResolvedAgentOptions;
  readonly #hooks: ReporterHooks;
  #registered = false;
  #reported: RuntimeSample | null = null;
  /** no report is sent before this time (ms): the end of the server's last Retry-After */
  #notBefore = 0;

  constructor(client: ServerClient, options: ResolvedAgentOptions, hooks: ReporterHooks) {
    this.#client = client;
    this.#options = options;
    this.#hooks = hooks;
  }

  /** Registers the target with its labels and capabilities, until that succeeded once. */
  async register(signal: AbortSignal | undefined): Promise<void> {
    if (this.#registered) return;
    const { env, channel, labels, runtimeVersion, targetId } = this.#options;
    const capabilities: Record<string, string> = { ...this.#options.capabilities };
    if (runtimeVersion !== null) capabilities.runtime = runtimeVersion;
    try {
      const registration = { env, channel, labels: { ...labels }, capabilities };
      await this.#client.registerTarget(targetId, registration, signal);
      this.#registered = true;
    } catch (error) {
      this.#hooks.onWarning(serverWarning(error));
    }
  }

  /** Sends one report; false when there is no state yet or the server did not take it. */
  async report(signal: AbortSignal | undefined): Promise<boolean> {
    const state = this.#hooks.state();
    if (state === null) return false;
    // The server asked for a pause (429 Retry-After): nothing is sent before it ends; the
    // counters keep adding up and go with the next report.
    if (this.#nowMs() < this.#notBefore) return false;
    const report = await buildReport({
      state,
      options: this.#options,
      reported: this.#reported,
      trialRunning: this.#hooks.trialRunning,
      check: () => this.#hooks.check(signal),
      lastHealth: () => this.#hooks.state()?.health ?? null,
      onWarning: this.#hooks.onWarning,
    });
    try {
      await this.#client.postReport(this.#options.targetId, report.body, signal);
    } catch (error) {
      const retryAfterMs = error instanceof AgentError ? error.details['retryAfterMs'] : undefined;
      if (typeof retryAfterMs === 'number') this.#notBefore = this.#nowMs() + retryAfterMs;
      this.#hooks.onWarning(serverWarning(error));
      return false;
    }
    if (report.sample !== null) this.#reported = report.sample;
    return true;
  }

  /** How long the report loop waits before the next report: the interval, or the server's pause. */
  nextDelayMs(): number {
    return Math.max(this.#options.reportIntervalMs, this.#notBefore - this.#nowMs());
  }

  #nowMs(): number {
    return this.#options.clock.now().getTime();
  }
}
