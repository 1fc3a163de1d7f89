import { isAbsolute, join, resolve } from 'node:path';
import { LockgateError } from '@lockgate/core';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Who may read `/metrics`: see features/metrics/metrics-routes.ts. */
export const METRICS_ACCESS = ['loopback', 'open', 'token'] as const;
export type MetricsAccess = (typeof METRICS_ACCESS)[number];

export type DatabaseConfig =
  | { readonly dialect: 'sqlite'; readonly path: string }
  | { readonly dialect: 'postgres'; readonly url: string };

/**
 * The error budget policy the server runs itself (docs/operations/slos.md): when the availability
 * SLO's budget over `window` is exhausted, the environments named (all when null) are frozen.
 */
export interface ErrorBudgetConfig {
  readonly envs: readonly string[] | null;
  /** 0 < objective < 1 (default 0.999) */
  readonly objective: number;
  /** as given, e.g. `30d` (recorded in the decision) */
  readonly window: string;
  readonly windowMs: number;
}

/** The checked, frozen configuration of one server process. */
export interface ServerConfig {
  /** Absolute directory holding the SQLite file, the pack blobs and the admin-token file. */
  readonly dataDir: string;
  readonly host: string;
  /** 0 asks the OS for a free port. */
  readonly port: number;
  readonly database: DatabaseConfig;
  /** From LOCKGATE_ADMIN_TOKEN; null when unset. */
  readonly adminToken: string | null;
  readonly logLevel: LogLevel;
  /** Largest accepted pack upload in bytes; JSON bodies are capped at min(1 MiB, bodyLimit). */
  readonly bodyLimit: number;
  /** How often the release controller ticks, in milliseconds (it also runs soon after events). */
  readonly controllerIntervalMs: number;
  /** Who may read /metrics (default `loopback`). */
  readonly metricsAccess: MetricsAccess;
  /** Base URL of the Prometheus server prometheus gates query; null when unset. */
  readonly prometheusUrl: string | null;
  /** The self-run error budget policy; null (the default) when off. */
  readonly errorBudget: ErrorBudgetConfig | null;
}

export interface ServerConfigFlags {
  data?: string;
  host?: string;
  port?: string | number;
  db?: string;
  logLevel?: string;
  bodyLimit?: string | number;
  /** milliseconds, or a duration such as `500ms`, `2s`, `1m` */
  controllerInterval?: string | number;
  /** loopback (default), open or token */
  metricsAccess?: string;
  /** http(s) base URL of Prometheus, for prometheus gates */
  prometheusUrl?: string;
  /** turns the error budget policy on: `all` or a comma-separated list of environments */
  errorBudgetFreeze?: string;
  /** the availability objective, e.g. 0.999 (the default) */
  errorBudgetObjective?: string | number;
  /** the policy's window: minutes, hours or days such as `30d` (the default), `12h`, `90m` */
  errorBudgetWindow?: string;
}

export const DEFAULT_DATA_DIR = './.lockgate';
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 7070;
export const DEFAULT_BODY_LIMIT = 256 * 1024 * 1024;
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';
export const MIN_ADMIN_TOKEN_LENGTH = 16;
export const DEFAULT_CONTROLLER_INTERVAL_MS = 2000;
export const MIN_CONTROLLER_INTERVAL_MS = 10;
export const MAX_CONTROLLER_INTERVAL_MS = 3_600_000;
export const DEFAULT_ERROR_BUDGET_OBJECTIVE = 0.999;
export const DEFAULT_ERROR_BUDGET_WINDOW = '30d';

/**
 * Environment variables read, each used only when the matching flag is absent:
 * LOCKGATE_DATA_DIR, LOCKGATE_HOST, LOCKGATE_PORT, LOCKGATE_DATABASE_URL, LOCKGATE_LOG_LEVEL,
 * LOCKGATE_BODY_LIMIT, LOCKGATE_CONTROLLER_INTERVAL, LOCKGATE_METRICS_ACCESS,
 * LOCKGATE_PROMETHEUS_URL, LOCKGATE_ERROR_BUDGET_FREEZE, LOCKGATE_ERROR_BUDGET_OBJECTIVE,
 * LOCKGATE_ERROR_BUDGET_WINDOW; and LOCKGATE_ADMIN_TOKEN (no flag, so a secret never sits in argv).
 */
export function loadServerConfig(
  flags: ServerConfigFlags,
  env: Readonly<Record<string, string | undefined>>,
): ServerConfig {
  const problems: string[] = [];
  const pick = <T>(flag: T | undefined, envName: string): T | string | undefined => {
    if (flag !== undefined) return flag;
    const value = env[envName];
    return value === undefined || value === '' ? undefined : value;
  };

  const dataRaw = pick(flags.data, 'LOCKGATE_DATA_DIR') ?? DEFAULT_DATA_DIR;
  if (dataRaw.trim() === '') problems.push('data directory must not be empty');
  const dataDir = resolve(dataRaw);

  const host = pick(flags.host, 'LOCKGATE_HOST') ?? DEFAULT_HOST;
  if (host.trim() === '' || /\s/.test(host))
    problems.push(`host ${JSON.stringify(host)} is invalid`);

  const port = parsePort(pick(flags.port, 'LOCKGATE_PORT'), problems);
  const database = parseDatabase(pick(flags.db, 'LOCKGATE_DATABASE_URL'), dataDir, problems);
  const logLevel = parseLogLevel(pick(flags.logLevel, 'LOCKGATE_LOG_LEVEL'), problems);
  const bodyLimit = parseBodyLimit(pick(flags.bodyLimit, 'LOCKGATE_BODY_LIMIT'), problems);
  const controllerIntervalMs = parseInterval(
    pick(flags.controllerInterval, 'LOCKGATE_CONTROLLER_INTERVAL'),
    problems,
  );

  const accessRaw = pick(flags.metricsAccess, 'LOCKGATE_METRICS_ACCESS') ?? 'loopback';
  const metricsAccess = METRICS_ACCESS.find((a) => a === accessRaw.trim().toLowerCase());
  if (metricsAccess === undefined) {
    problems.push(
      `metrics access ${JSON.stringify(accessRaw)} is not one of ${METRICS_ACCESS.join(', ')}`,
    );
  }
  const prometheusRaw = pick(flags.prometheusUrl, 'LOCKGATE_PROMETHEUS_URL');
  let prometheusUrl: string | null = null;
  if (prometheusRaw !== undefined) {
    try {
      const url = new URL(prometheusRaw.trim());
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
      prometheusUrl = url.toString().replace(/\/+$/, '');
    } catch {
      problems.push('Prometheus URL must be an http:// or https:// URL');
    }
  }

  const errorBudget = parseErrorBudget(
    pick(flags.errorBudgetFreeze, 'LOCKGATE_ERROR_BUDGET_FREEZE'),
    pick(flags.errorBudgetObjective, 'LOCKGATE_ERROR_BUDGET_OBJECTIVE'),
    pick(flags.errorBudgetWindow, 'LOCKGATE_ERROR_BUDGET_WINDOW'),
    problems,
  );

  const tokenRaw = env['LOCKGATE_ADMIN_TOKEN'];
  let adminToken: string | null = null;
  if (tokenRaw !== undefined && tokenRaw !== '') {
    if (tokenRaw.length < MIN_ADMIN_TOKEN_LENGTH || /\s/.test(tokenRaw)) {
      problems.push(
        `LOCKGATE_ADMIN_TOKEN must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters without whitespace`,
      );
    } else {
      adminToken = tokenRaw;
    }
  }

  if (problems.length > 0) {
    throw new LockgateError(
      'VALIDATION_FAILED',
      `Invalid server configuration: ${problems.join('; ')}.`,
      { details: { problems } },
    );
  }

  return Object.freeze({
    dataDir,
    host,
    port,
    database: Object.freeze(database),
    adminToken,
    logLevel,
    bodyLimit,
    controllerIntervalMs,
    metricsAccess: metricsAccess ?? 'loopback',
    prometheusUrl,
    errorBudget,
  });
}

const WINDOW_UNITS: Readonly<Record<string, number>> = { m: 60_000, h: 3_600_000, d: 86_400_000 };
/** At most a year: the samples of a window are summed at every run. */
const MAX_ERROR_BUDGET_WINDOW_MS = 366 * 86_400_000;

/** Off unless `freeze` names environments (or `all`); objective and window have defaults. */
function parseErrorBudget(
  freeze: string | undefined,
  objectiveRaw: string | number | undefined,
  windowRaw: string | undefined,
  problems: string[],
): ErrorBudgetConfig | null {
  const objective =
    objectiveRaw === undefined ? DEFAULT_ERROR_BUDGET_OBJECTIVE : Number(objectiveRaw);
  if (!(objective > 0 && objective < 1)) {
    problems.push(
      `error budget objective ${JSON.stringify(objectiveRaw)} is not a number between 0 and 1 such as 0.999`,
    );
  }
  const window = (windowRaw ?? DEFAULT_ERROR_BUDGET_WINDOW).trim();
  const match = /^(\d+)(m|h|d)$/.exec(window);
  const windowMs =
    match === null ? Number.NaN : Number(match[1]) * (WINDOW_UNITS[match[2] ?? ''] ?? 0);
  if (
    !Number.isSafeInteger(windowMs) ||
    windowMs < 60_000 ||
    windowMs > MAX_ERROR_BUDGET_WINDOW_MS
  ) {
    problems.push(
      `error budget window ${JSON.stringify(windowRaw)} is not a duration from 1m to 366d such as 30d, 12h or 90m`,
    );
  }
  if (freeze === undefined) return null;
  const names = freeze
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.length === 0) {
    problems.push('error budget freeze must be `all` or a comma-separated list of environments');
    return null;
  }
  const envs = names.length === 1 && names[0] === 'all' ? null : Object.freeze([...new Set(names)]);
  return Object.freeze({ envs, objective, window, windowMs });
}

const INTERVAL_UNITS: Readonly<Record<string, number>> = { '': 1, ms: 1, s: 1000, m: 60_000 };

/** Milliseconds as an integer, or with a unit: `100ms`, `2s`, `1m`. */
function parseInterval(raw: string | number | undefined, problems: string[]): number {
  if (raw === undefined) return DEFAULT_CONTROLLER_INTERVAL_MS;
  const match = /^(\d+)\s*(ms|s|m)?$/i.exec(String(raw).trim());
  const multiplier = match === null ? undefined : INTERVAL_UNITS[(match[2] ?? '').toLowerCase()];
  const ms =
    match === null || multiplier === undefined ? Number.NaN : Number(match[1]) * multiplier;
  if (
    !Number.isSafeInteger(ms) ||
    ms < MIN_CONTROLLER_INTERVAL_MS ||
    ms > MAX_CONTROLLER_INTERVAL_MS
  ) {
    problems.push(
      `controller interval ${JSON.stringify(raw)} is not a duration from ${MIN_CONTROLLER_INTERVAL_MS}ms to 1h such as 2000, 500ms or 2s`,
    );
    return DEFAULT_CONTROLLER_INTERVAL_MS;
  }
  return ms;
}

function parsePort(raw: string | number | undefined, problems: string[]): number {
  if (raw === undefined) return DEFAULT_PORT;
  const text = String(raw).trim();
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    problems.push(`port ${JSON.stringify(raw)} is not an integer from 0 to 65535`);
    return DEFAULT_PORT;
  }
  return port;
}

function parseDatabase(
  raw: string | undefined,
  dataDir: string,
  problems: string[],
): DatabaseConfig {
  if (raw === undefined) return { dialect: 'sqlite', path: join(dataDir, 'lockgate.db') };
  const text = raw.trim();
  if (/^postgres(ql)?:\/\//i.test(text)) {
    try {
      new URL(text);
    } catch {
      problems.push('database URL is not a valid URL');
    }
    return { dialect: 'postgres', url: text };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    // Do not echo the URL: it may carry a password.
    problems.push('database must be a postgres:// or postgresql:// URL, or a SQLite file path');
    return { dialect: 'sqlite', path: join(dataDir, 'lockgate.db') };
  }
  const path = text.startsWith('sqlite:') ? text.slice('sqlite:'.length) : text;
  if (path === '') {
    problems.push('database path must not be empty');
    return { dialect: 'sqlite', path: join(dataDir, 'lockgate.db') };
  }
  return { dialect: 'sqlite', path: isAbsolute(path) ? path : resolve(path) };
}

function parseLogLevel(raw: string | undefined, problems: string[]): LogLevel {
  if (raw === undefined) return DEFAULT_LOG_LEVEL;
  const level = LOG_LEVELS.find((candidate) => candidate === raw.trim().toLowerCase());
  if (level === undefined) {
    problems.push(`log level ${JSON.stringify(raw)} is not one of ${LOG_LEVELS.join(', ')}`);
    return DEFAULT_LOG_LEVEL;
  }
  return level;
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  kib: 1024,
  kb: 1000,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1000 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  gb: 1000 ** 3,
};

/** Bytes as an integer, or a number with a unit: `512k`, `64MiB`, `1GB` (k/m/g and KiB/MiB/GiB are binary). */
function parseBodyLimit(raw: string | number | undefined, problems: string[]): number {
  if (raw === undefined) return DEFAULT_BODY_LIMIT;
  const match = /^(\d+)\s*([a-z]*)$/i.exec(String(raw).trim());
  const multiplier = match === null ? undefined : SIZE_UNITS[(match[2] ?? '').toLowerCase()];
  const bytes =
    match === null || multiplier === undefined ? Number.NaN : Number(match[1]) * multiplier;
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    problems.push(
      `body limit ${JSON.stringify(raw)} is not a positive size such as 1048576 or 256MiB`,
    );
    return DEFAULT_BODY_LIMIT;
  }
  return bytes;
}
