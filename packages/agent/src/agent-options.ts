import { resolve } from 'node:path';
import { isSemverVersion, LockgateError, parsePublicKey } from '@lockgate/core';
import type { PublicKeyInfo } from '@lockgate/core';
import type { HealthCheckSpec } from './health-check.ts';
import { DEFAULT_RUNTIME_METRIC_NAMES } from './runtime-metrics.ts';
import { DEFAULT_MAX_EVENT_BYTES } from './sse-reader.ts';
import type { RuntimeMetricNames } from './runtime-metrics.ts';

/** Where the agent reads the time. Tests pass their own. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface RuntimeMetricsSpec extends Partial<RuntimeMetricNames> {
  /** URL of the runtime's Prometheus text exposition */
  url: string;
  timeoutMs?: number;
}

export interface AgentOptions {
  /** base URL of the Lockgate server, e.g. http://127.0.0.1:7070 */
  server: string;
  /** bearer token for the agent's calls */
  token: string;
  /** the target's stable id */
  targetId: string;
  env: string;
  channel: string;
  labels?: Record<string, string>;
  /** values the pack's `requires` keys are compared with; `capabilities` is a comma list */
  capabilities?: Record<string, string>;
  /** this runtime's semantic version, for `requires.runtime` (a pack needing it fails closed without) */
  runtimeVersion?: string;
  /** the agent directory: state, cache, installed packs and the `current` link */
  dir: string;
  /** PEM public keys of the server's channel-index signers */
  trustedServerKeys: readonly string[];
  /** PEM public keys of the build signers */
  trustedBuildKeys: readonly string[];
  healthCheck?: HealthCheckSpec;
  runtimeMetrics?: RuntimeMetricsSpec;
  /** index poll interval (default 30 s) */
  pollIntervalMs?: number;
  /** report interval (default 30 s) */
  reportIntervalMs?: number;
  /** pause between health checks in a trial (default 2 s) */
  healthIntervalMs?: number;
  /** how long a trial may take before it reverts (default 60 s) */
  trialMs?: number;
  /** consecutive passing checks that commit a trial (default 3) */
  trialPasses?: number;
  /** consecutive failing checks that revert a trial before its deadline (default 3) */
  trialFailures?: number;
  /** how many starts may find the same trial before it reverts without a check (default 3) */
  maxTrialAttempts?: number;
  /** bound of DIR/cache in bytes (default 1 GiB) */
  cacheMaxBytes?: number;
  /** listen to the channel's Server-Sent Events (default true) */
  events?: boolean;
  /** bound on one API request (default 30 s) */
  requestTimeoutMs?: number;
  /** bound on one pack download (default 10 min) */
  downloadTimeoutMs?: number;
  /** the most bytes a channel index answer may have (default 16 MiB); more is INDEX_TOO_LARGE */
  maxIndexBytes?: number;
  /** the most bytes one event-stream line or event may have (default 64 KiB); more is EVENT_TOO_LARGE */
  maxEventBytes?: number;
  /** first and largest pause before reconnecting the event stream (default 1 s and 30 s) */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /**
   * `HOST:PORT` (`127.0.0.1:9464`, `[::1]:9464`; port 0 picks a free one) where the agent serves
   * its own Prometheus metrics at `/metrics` while it runs (agent-metrics.ts); off when absent.
   */
  metricsListen?: string;
  clock?: Clock;
  fetch?: typeof fetch;
}

/** Where the agent's metrics are served. */
export interface ListenAddress {
  host: string;
  port: number;
}

export interface ResolvedAgentOptions {
  server: string;
  token: string;
  targetId: string;
  env: string;
  channel: string;
  labels: Readonly<Record<string, string>>;
  capabilities: Readonly<Record<string, string>>;
  runtimeVersion: string | null;
  dir: string;
  serverKeys: readonly PublicKeyInfo[];
  buildKeys: readonly PublicKeyInfo[];
  healthCheck: HealthCheckSpec | null;
  runtimeMetrics: (RuntimeMetricNames & { url: string; timeoutMs: number }) | null;
  pollIntervalMs: number;
  reportIntervalMs: number;
  healthIntervalMs: number;
  trialMs: number;
  trialPasses: number;
  trialFailures: number;
  maxTrialAttempts: number;
  cacheMaxBytes: number;
  events: boolean;
  requestTimeoutMs: number;
  downloadTimeoutMs: number;
  maxIndexBytes: number;
  maxEventBytes: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  metricsListen: ListenAddress | null;
  clock: Clock;
  fetch: typeof fetch;
}

/** Checks the options and fills in defaults; BAD_REQUEST or KEY_INVALID for a bad one. */
export function resolveAgentOptions(options: AgentOptions): Readonly<ResolvedAgentOptions> {
  const problems: string[] = [];
  const text = (name: string, value: unknown): string => {
    if (typeof value !== 'string' || value.trim() === '') {
      problems.push(`${name} must be a non-empty string`);
      return '';
    }
    return value;
  };
  const positive = (name: string, value: number | undefined, fallback: number): number => {
    if (value === undefined) return fallback;
    if (!Number.isSafeInteger(value) || value <= 0) {
      problems.push(`${name} must be a positive integer`);
      return fallback;
    }
    return value;
  };
  const server = text('server', options.server);
  if (server !== '' && !isHttpUrl(server)) problems.push('server must be an http(s) URL');
  const healthCheck = options.healthCheck ?? null;
  if (healthCheck !== null) {
    if ('url' in healthCheck && !isHttpUrl(healthCheck.url)) {
      problems.push('healthCheck.url must be an http(s) URL');
    } else if ('cmd' in healthCheck && healthCheck.cmd.trim() === '') {
      problems.push('healthCheck.cmd must not be empty');
    }
  }
  const metrics = options.runtimeMetrics;
  if (metrics !== undefined && !isHttpUrl(metrics.url)) {
    problems.push('runtimeMetrics.url must be an http(s) URL');
  }
  const runtimeVersion = options.runtimeVersion ?? null;
  if (runtimeVersion !== null && !isSemverVersion(runtimeVersion)) {
    problems.push('runtimeVersion must be a semantic version such as 2.3.0');
  }
  let metricsListen: ListenAddress | null = null;
  if (options.metricsListen !== undefined) {
    metricsListen = parseListenAddress(options.metricsListen);
    if (metricsListen === null) {
      problems.push('metricsListen must be HOST:PORT, e.g. 127.0.0.1:9464 or [::1]:9464');
    }
  }
  if (options.trustedServerKeys.length === 0) problems.push('at least one server key is needed');
  if (options.trustedBuildKeys.length === 0) problems.push('at least one build key is needed');
  const resolved: ResolvedAgentOptions = {
    server,
    token: text('token', options.token),
    targetId: text('targetId', options.targetId),
    env: text('env', options.env),
    channel: text('channel', options.channel),
    labels: Object.freeze({ ...options.labels }),
    capabilities: Object.freeze({ ...options.capabilities }),
    runtimeVersion,
    dir: resolve(text('dir', options.dir)),
    serverKeys: [],
    buildKeys: [],
    healthCheck,
    runtimeMetrics:
      metrics === undefined
        ? null
        : {
            ...DEFAULT_RUNTIME_METRIC_NAMES,
            ...definedOnly(metrics),
            url: metrics.url,
            timeoutMs: positive('runtimeMetrics.timeoutMs', metrics.timeoutMs, 5_000),
          },
    pollIntervalMs: positive('pollIntervalMs', options.pollIntervalMs, 30_000),
    reportIntervalMs: positive('reportIntervalMs', options.reportIntervalMs, 30_000),
    healthIntervalMs: positive('healthIntervalMs', options.healthIntervalMs, 2_000),
    trialMs: positive('trialMs', options.trialMs, 60_000),
    trialPasses: positive('trialPasses', options.trialPasses, 3),
    trialFailures: positive('trialFailures', options.trialFailures, 3),
    maxTrialAttempts: positive('maxTrialAttempts', options.maxTrialAttempts, 3),
    cacheMaxBytes: positive('cacheMaxBytes', options.cacheMaxBytes, 1024 ** 3),
    events: options.events ?? true,
    requestTimeoutMs: positive('requestTimeoutMs', options.requestTimeoutMs, 30_000),
    downloadTimeoutMs: positive('downloadTimeoutMs', options.downloadTimeoutMs, 600_000),
    maxIndexBytes: positive('maxIndexBytes', options.maxIndexBytes, 16 * 1024 ** 2),
    maxEventBytes: positive('maxEventBytes', options.maxEventBytes, DEFAULT_MAX_EVENT_BYTES),
    reconnectMinMs: positive('reconnectMinMs', options.reconnectMinMs, 1_000),
    reconnectMaxMs: positive('reconnectMaxMs', options.reconnectMaxMs, 30_000),
    metricsListen,
    clock: options.clock ?? systemClock,
    fetch: options.fetch ?? globalThis.fetch,
  };
  if (problems.length > 0) {
    throw new LockgateError('BAD_REQUEST', `The agent options are invalid: ${problems[0]}.`, {
      details: { problems },
    });
  }
  // KEY_INVALID from core names a key that does not parse.
  resolved.serverKeys = options.trustedServerKeys.map((pem) => parsePublicKey(pem));
  resolved.buildKeys = options.trustedBuildKeys.map((pem) => parsePublicKey(pem));
  return Object.freeze(resolved);
}

/** `HOST:PORT` or `[IPv6]:PORT` with a port from 0 to 65535; null when it is not one. */
export function parseListenAddress(text: string): ListenAddress | null {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(text.trim());
  if (match === null) return null;
  const port = Number(match[3]);
  if (port > 65535) return null;
  return { host: match[1] ?? match[2] ?? '', port };
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
