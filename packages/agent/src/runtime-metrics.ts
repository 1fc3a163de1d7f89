/**
 * The runtime's traffic, read from its Prometheus text exposition: a request counter, an error
 * counter and a latency histogram. Reports carry deltas since the previous report, so the agent
 * keeps the last scrape it reported and subtracts (a counter that went down was reset: its new
 * value is the delta). p95/p99 come from the histogram's bucket deltas, interpolated linearly
 * inside the bucket as Prometheus' `histogram_quantile` does.
 *
 * The latency a `compare` gate tests is a count, not a quantile: for every finite bucket bound B
 * of the histogram, the signal `slower_than_ms:B` holds the requests of the delta slower than B
 * milliseconds (the +Inf bucket minus bucket B). A count per report is a rate the sequential
 * test handles (docs/adr/0008-sequential-canary-judgment.md); a quantile per report is not. A
 * gate's `latencyBoundsMs` must be among the runtime's bucket bounds.
 */
import { readBounded } from './server-client.ts';

/** Which series to read; every series of a name is summed over its labels. */
export interface RuntimeMetricNames {
  /** counter of requests (default `lockgate_runtime_requests_total`) */
  requests: string;
  /** counter of failed requests (default `lockgate_runtime_errors_total`) */
  errors: string;
  /**
   * histogram of request latency (default `lockgate_runtime_request_duration_seconds`); a name
   * ending in `_seconds` is in seconds, any other in milliseconds
   */
  latency: string;
}

export const DEFAULT_RUNTIME_METRIC_NAMES: Readonly<RuntimeMetricNames> = Object.freeze({
  requests: 'lockgate_runtime_requests_total',
  errors: 'lockgate_runtime_errors_total',
  latency: 'lockgate_runtime_request_duration_seconds',
});

/** One scrape: the counters (null when absent) and the cumulative histogram buckets. */
export interface RuntimeSample {
  requests: number | null;
  errors: number | null;
  /** upper bound (`le`, Infinity for +Inf) → cumulative count, sorted by bound */
  buckets: [number, number][];
}

export interface TrafficDelta {
  requests?: number;
  errors?: number;
  latencyP95Ms?: number;
  latencyP99Ms?: number;
  /** `slower_than_ms:B` → requests slower than B ms, per finite bucket bound B */
  signals?: Record<string, number>;
}

/** The signal that counts requests slower than `boundMs`. */
export function slowerThanSignal(boundMs: number): string {
  return `slower_than_ms:${boundMs}`;
}

/** Most `slower_than_ms` signals a report carries (the report holds at most 64 signals). */
export const MAX_LATENCY_SIGNALS = 32;

/** A sample of value `value` for `name{labels}`. */
interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Reads the exposition text into a sample of the named series. Unknown lines are skipped. */
export function parseRuntimeSample(text: string, names: RuntimeMetricNames): RuntimeSample {
  let requests: number | null = null;
  let errors: number | null = null;
  const buckets = new Map<number, number>();
  for (const series of parseExposition(text)) {
    if (series.name === names.requests) requests = (requests ?? 0) + series.value;
    else if (series.name === names.errors) errors = (errors ?? 0) + series.value;
    else if (series.name === `${names.latency}_bucket`) {
      const le = parseBound(series.labels.le);
      if (le !== null) buckets.set(le, (buckets.get(le) ?? 0) + series.value);
    }
  }
  return { requests, errors, buckets: [...buckets.entries()].sort((a, b) => a[0] - b[0]) };
}

/** What happened between two samples; `previous` null = since the runtime started. */
export function trafficDelta(
  previous: RuntimeSample | null,
  current: RuntimeSample,
  names: RuntimeMetricNames,
): TrafficDelta {
  const delta: TrafficDelta = {};
  const requests = counterDelta(previous?.requests ?? null, current.requests);
  const errors = counterDelta(previous?.errors ?? null, current.errors);
  if (requests !== null) delta.requests = requests;
  if (errors !== null) delta.errors = requests === null ? errors : Math.min(errors, requests);
  const buckets = bucketDelta(previous?.buckets ?? [], current.buckets);
  const scale = names.latency.endsWith('_seconds') ? 1000 : 1;
  const p95 = histogramQuantile(0.95, buckets);
  const p99 = histogramQuantile(0.99, buckets);
  if (p95 !== null) delta.latencyP95Ms = round(p95 * scale);
  if (p99 !== null) delta.latencyP99Ms = round(p99 * scale);
  const slower = slowerCounts(buckets, scale);
  if (slower !== null) delta.signals = slower;
  return delta;
}

/**
 * Requests slower than each finite bucket bound (in ms): the +Inf bucket minus the bound's
 * cumulative count. Null without a +Inf bucket (the total is unknown) or without observations.
 */
export function slowerCounts(
  buckets: readonly [number, number][],
  scale: number,
): Record<string, number> | null {
  const last = buckets.at(-1);
  if (last === undefined || last[0] !== Infinity || last[1] <= 0) return null;
  const total = last[1];
  const signals: Record<string, number> = {};
  for (const [bound, count] of buckets.slice(0, MAX_LATENCY_SIGNALS)) {
    if (bound === Infinity) break;
    signals[slowerThanSignal(round(bound * scale))] = Math.max(0, total - count);
  }
  return signals;
}

/**
 * The q-quantile of cumulative buckets, interpolated inside the bucket that holds it (the lowest
 * bucket from 0). When it falls into +Inf, the highest finite bound. Null with no observations.
 */
export function histogramQuantile(q: number, buckets: readonly [number, number][]): number | null {
  const last = buckets.at(-1);
  if (last === undefined || last[1] <= 0) return null;
  const total = last[1];
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [bound, count] of buckets) {
    if (count >= rank) {
      if (bound === Infinity) return lowerBound;
      if (count === lowerCount) return bound;
      return lowerBound + ((bound - lowerBound) * (rank - lowerCount)) / (count - lowerCount);
    }
    lowerBound = bound === Infinity ? lowerBound : bound;
    lowerCount = count;
  }
  return lowerBound;
}

function counterDelta(previous: number | null, current: number | null): number | null {
  if (current === null) return null;
  if (previous === null || current < previous) return current;
  return current - previous;
}

function bucketDelta(
  previous: readonly [number, number][],
  current: readonly [number, number][],
): [number, number][] {
  const before = new Map(previous);
  const reset = current.some(([bound, count]) => count < (before.get(bound) ?? 0));
  return current.map(([bound, count]) => [bound, reset ? count : count - (before.get(bound) ?? 0)]);
}

function parseBound(text: string | undefined): number | null {
  if (text === undefined) return null;
  if (text === '+Inf') return Infinity;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

const SAMPLE_LINE = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?\s*$/;
const LABEL = /([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?\s*/gy;

function* parseExposition(text: string): Generator<Series> {
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE_LINE.exec(line);
    if (match === null) continue;
    const [, name = '', , labelText = '', valueText = ''] = match;
    const value = parseValue(valueText);
    if (value === null) continue;
    const labels: Record<string, string> = {};
    LABEL.lastIndex = 0;
    let consumed = 0;
    for (let m = LABEL.exec(labelText); m !== null; m = LABEL.exec(labelText)) {
      labels[m[1] ?? ''] = unescapeLabel(m[2] ?? '');
      consumed = LABEL.lastIndex;
    }
    if (consumed !== labelText.length) continue;
    yield { name, labels, value };
  }
}

function parseValue(text: string): number | null {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  const value = Number(text);
  return Number.isNaN(value) ? null : value;
}

function unescapeLabel(text: string): string {
  return text.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

/** How much of the runtime's metrics answer is read. */
const MAX_RUNTIME_METRICS_BYTES = 4 * 1024 ** 2;

/** Scrapes the runtime's metrics endpoint once; throws when it cannot be read. */
export async function scrapeRuntimeMetrics(
  fetchFn: typeof fetch,
  metrics: RuntimeMetricNames & { url: string; timeoutMs: number },
): Promise<RuntimeSample> {
  const response = await fetchFn(metrics.url, { signal: AbortSignal.timeout(metrics.timeoutMs) });
  if (!response.ok) throw new Error(`GET ${metrics.url} answered ${response.status}`);
  const bytes = await readBounded(response, MAX_RUNTIME_METRICS_BYTES);
  if (bytes === null) {
    throw new Error(`GET ${metrics.url} answered more than ${MAX_RUNTIME_METRICS_BYTES} bytes`);
  }
  return parseRuntimeSample(new TextDecoder().decode(bytes), metrics);
}
