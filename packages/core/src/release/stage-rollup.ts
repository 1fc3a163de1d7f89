/**
 * Stage rollups: what a started stage's health gates and agent refusals read, kept as reports
 * arrive instead of recomputed from every report of the window on every tick.
 *
 * A `StageRollup` belongs to one stage scope (the release's pack and the stage's targets). Its
 * reports go into whole-second buckets of sums per metric; per metric it keeps the last time each
 * target contributed, per activation attempt (target, attempt time) the last report carrying it,
 * and per target its latest report's refusal. `measureStage` reads it at `now` into
 * `StageMeasures`: plain JSON, one measure per (metric, window) of the plan's health gates and the
 * stage targets' refusals, which `decide` reads instead of the reports (context.measures) and
 * which a decision record stores instead of the window's reports.
 *
 * Invariants (the property test in test/release/stage-rollup.test.ts holds them):
 * - The measures equal what the report-based gates and refusals compute on the same reports (the
 *   stage targets' reports with `from ≤ at ≤ now`, ordered by (at, id)), so verdicts and
 *   decision drafts are the same. Window boundaries are exact: buckets after the one the window
 *   starts in count whole, the reports of that bucket are walked one by one.
 * - Sums are order-free only when every summed value is a safe integer and the total stays
 *   within 2^53: otherwise `measureStage` returns null and the caller decides on the reports.
 * - Reports older than the rollup's horizon are never added (`expireRollup` only moves it
 *   forward); a rollup is read only at a `now` no earlier than its newest report and with
 *   windows that start at or after its horizon (else null).
 * - Pure: no clock, no I/O; the same reports, in any order and in any batches, give the same
 *   rollup readings.
 */
import { isCompareGate } from './compare-stage-gate.ts';
import type { HealthGateSpec, HealthMeasure, HealthMetric, TargetReport } from './health-gate.ts';
import { parseTime } from './instant.ts';
import type { Plan } from './plan.ts';
import { isPrometheusGate } from './prometheus-gate.ts';

/** One (metric, window) measured at the measures' `at`. */
export interface StageMetricMeasure extends HealthMeasure {
  metric: HealthMetric;
  windowSeconds: number;
}

/** A stage target whose latest report in the window carries a failed attempt at the pack. */
export interface StageRefusalCandidate {
  target: string;
  kind: 'verify' | 'activate';
  code: string;
  /** when the attempt was made (only attempts since the stage started count) */
  attemptAt: string;
}

/** What the stage's gates and refusals read at `at`, measured from a rollup (JSON only). */
export interface StageMeasures {
  /** the `now` they were measured at: decide reads them at no other time */
  at: string;
  pack: string;
  /** start of the reports' window: refusals read each stage target's latest report since */
  reportsFrom: string;
  /** sorted by metric, then window */
  metrics: StageMetricMeasure[];
  /** sorted by target */
  refusals: StageRefusalCandidate[];
}

/** A report with the id that orders reports made at the same time (the store's report id). */
export interface RollupReport {
  id: string;
  report: TargetReport;
  /**
   * `report.at` in milliseconds (null: not a time), when the holder parsed it already
   * (`rollupReportOf`): a rollup rebuilt from held reports reads it instead of parsing again.
   */
  ms?: number | null;
}

/** A held report with its time parsed once (`RollupReport.ms`). */
export function rollupReportOf(id: string, report: TargetReport): RollupReport {
  return { id, report, ms: parseTime(report.at) };
}

interface MetricSums {
  requests: number;
  errors: number;
  /** signal sums and the sum of their absolute values (to know the sum is exact) */
  sum: number;
  abs: number;
  count: number;
  max: number;
  ignored: number;
  /** values that are not safe integers: sums over them depend on the order */
  inexact: number;
}

interface RollupBucket {
  reports: { ms: number; report: TargetReport }[];
  sums: Map<HealthMetric, MetricSums>;
}

/** A stage's reports rolled up; held in memory by the shell, rebuilt when its scope changes. */
export interface StageRollup {
  readonly pack: string;
  readonly members: ReadonlySet<string>;
  readonly metrics: readonly HealthMetric[];
  /** reports made before this time (ms) are not held */
  horizon: number;
  /** the newest report's time (ms) */
  newest: number;
  buckets: Map<number, RollupBucket>;
  /** per metric, per target: the last time (ms) it contributed */
  contributed: Map<HealthMetric, Map<string, number>>;
  /** activation attempts of the pack by `${target}\n${attempt.at}`: the last report carrying it */
  attempts: Map<string, { ms: number; id: string; ok: boolean }>;
  /** per target: its latest report (time, id) and that report's refusal, if any */
  latest: Map<string, { ms: number; id: string; refusal: StageRefusalCandidate | null }>;
}

/** The health gates (metric and window) of every stage of a plan, deduplicated and sorted. */
export function planHealthWindows(plan: Plan): { metric: HealthMetric; windowSeconds: number }[] {
  const seen = new Map<string, { metric: HealthMetric; windowSeconds: number }>();
  for (const stage of plan.stages) {
    for (const gate of stage.gates) {
      if (isCompareGate(gate) || isPrometheusGate(gate)) continue;
      const spec = gate as HealthGateSpec;
      seen.set(`${spec.metric}\n${spec.windowSeconds}`, {
        metric: spec.metric,
        windowSeconds: spec.windowSeconds,
      });
    }
  }
  return [...seen.values()].sort((a, b) =>
    a.metric === b.metric ? a.windowSeconds - b.windowSeconds : a.metric < b.metric ? -1 : 1,
  );
}

/** A plan's stages can be decided on measures: none of them has a compare gate. */
export function measurablePlan(plan: Plan): boolean {
  return plan.stages.every((stage) => !stage.gates.some(isCompareGate));
}

/** An empty rollup for a stage scope, holding reports made at or after `horizon` (ms). */
export function emptyRollup(scope: {
  pack: string;
  members: Iterable<string>;
  metrics: readonly HealthMetric[];
  horizon: number;
}): StageRollup {
  return {
    pack: scope.pack,
    members: new Set(scope.members),
    metrics: [...new Set(scope.metrics)].sort(),
    horizon: scope.horizon,
    newest: Number.NEGATIVE_INFINITY,
    buckets: new Map(),
    contributed: new Map(scope.metrics.map((m) => [m, new Map<string, number>()])),
    attempts: new Map(),
    latest: new Map(),
  };
}

function nonNegative(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

type Contribution =
  | null
  | 'ignored'
  | { kind: 'traffic'; requests: number; errors: number }
  | { kind: 'value'; value: number };

/** What one report adds to one metric (activation attempts aside), as health-gate.ts reads it. */
function contributionOf(metric: HealthMetric, report: TargetReport, pack: string): Contribution {
  if (report.activePack !== pack || report.health === undefined) return null;
  const h = report.health;
  if (metric === 'error_rate') {
    if (h.requests === undefined && h.errors === undefined) return null;
    const requests = h.requests ?? 0;
    const errors = h.errors ?? 0;
    if (!nonNegative(requests) || !nonNegative(errors) || errors > requests) return 'ignored';
    return { kind: 'traffic', requests, errors };
  }
  const value =
    metric === 'latency_p95_ms'
      ? h.latencyP95Ms
      : metric === 'latency_p99_ms'
        ? h.latencyP99Ms
        : h.signals?.[metric.slice('signal:'.length)];
  if (value === undefined) return null;
  const valid = metric.startsWith('signal:') ? Number.isFinite(value) : nonNegative(value);
  return valid ? { kind: 'value', value } : 'ignored';
}

function emptySums(): MetricSums {
  return {
    requests: 0,
    errors: 0,
    sum: 0,
    abs: 0,
    count: 0,
    max: Number.NEGATIVE_INFINITY,
    ignored: 0,
    inexact: 0,
  };
}

function addTo(sums: MetricSums, c: Exclude<Contribution, null>): void {
  if (c === 'ignored') {
    sums.ignored += 1;
    return;
  }
  if (c.kind === 'traffic') {
    sums.requests += c.requests;
    sums.errors += c.errors;
    sums.count += 1;
    if (!Number.isSafeInteger(c.requests) || !Number.isSafeInteger(c.errors)) sums.inexact += 1;
    return;
  }
  sums.sum += c.value;
  sums.abs += Math.abs(c.value);
  sums.count += 1;
  sums.max = Math.max(sums.max, c.value);
  if (!Number.isSafeInteger(c.value)) sums.inexact += 1;
}

function later(ms: number, id: string, than: { ms: number; id: string }): boolean {
  return ms > than.ms || (ms === than.ms && id > than.id);
}

function refusalOf(report: TargetReport, pack: string): StageRefusalCandidate | null {
  const a = report.lastAttempt;
  if (
    a === undefined ||
    a.pack !== pack ||
    a.result !== 'failed' ||
    (a.kind !== 'verify' && a.kind !== 'activate')
  ) {
    return null;
  }
  return { target: report.targetId, kind: a.kind, code: a.code ?? 'UNKNOWN', attemptAt: a.at };
}

/** Adds reports to the rollup (in place; any order, any batches); returns the rollup. */
export function addReports(rollup: StageRollup, reports: readonly RollupReport[]): StageRollup {
  for (const item of reports) {
    const { id, report } = item;
    if (!rollup.members.has(report.targetId)) continue;
    const ms = item.ms === undefined ? parseTime(report.at) : item.ms;
    if (ms === null || ms < rollup.horizon) continue;
    if (ms > rollup.newest) rollup.newest = ms;
    const target = report.targetId;
    const second = Math.floor(ms / 1000);
    let bucket = rollup.buckets.get(second);
    if (bucket === undefined) {
      bucket = { reports: [], sums: new Map() };
      rollup.buckets.set(second, bucket);
    }
    bucket.reports.push({ ms, report });
    for (const metric of rollup.metrics) {
      const contributed = rollup.contributed.get(metric) as Map<string, number>;
      if (metric === 'activation_success_rate') {
        const a = report.lastAttempt;
        if (a === undefined || a.kind !== 'activate' || a.pack !== rollup.pack) continue;
        const key = `${target}\n${a.at}`;
        const seen = rollup.attempts.get(key);
        if (seen === undefined || later(ms, id, seen)) {
          rollup.attempts.set(key, { ms, id, ok: a.result === 'ok' });
        }
        contributed.set(target, Math.max(contributed.get(target) ?? ms, ms));
        continue;
      }
      const c = contributionOf(metric, report, rollup.pack);
      if (c === null) continue;
      let sums = bucket.sums.get(metric);
      if (sums === undefined) {
        sums = emptySums();
        bucket.sums.set(metric, sums);
      }
      addTo(sums, c);
      if (c === 'ignored' || (c.kind === 'traffic' && c.requests <= 0)) continue;
      contributed.set(target, Math.max(contributed.get(target) ?? ms, ms));
    }
    const latest = rollup.latest.get(target);
    if (latest === undefined || later(ms, id, latest)) {
      rollup.latest.set(target, { ms, id, refusal: refusalOf(report, rollup.pack) });
    }
  }
  return rollup;
}

/**
 * Forgets what is older than `horizon` (ms) and never adds it again. Reads only ever look at or
 * after the horizon, so this frees memory and changes no reading.
 */
export function expireRollup(rollup: StageRollup, horizon: number): StageRollup {
  if (horizon <= rollup.horizon) return rollup;
  rollup.horizon = horizon;
  const first = Math.floor(horizon / 1000);
  for (const second of rollup.buckets.keys()) if (second < first) rollup.buckets.delete(second);
  for (const contributed of rollup.contributed.values()) {
    for (const [target, ms] of contributed) if (ms < horizon) contributed.delete(target);
  }
  for (const [key, seen] of rollup.attempts) if (seen.ms < horizon) rollup.attempts.delete(key);
  for (const [target, seen] of rollup.latest) if (seen.ms < horizon) rollup.latest.delete(target);
  return rollup;
}

/** The metric's sums over `start ≤ at` (every held report is at or before now). */
function sumsSince(rollup: StageRollup, metric: HealthMetric, start: number): MetricSums {
  const total = emptySums();
  const startSecond = Math.floor(start / 1000);
  for (const [second, bucket] of rollup.buckets) {
    if (second < startSecond) continue;
    if (second > startSecond) {
      const sums = bucket.sums.get(metric);
      if (sums === undefined) continue;
      total.requests += sums.requests;
      total.errors += sums.errors;
      total.sum += sums.sum;
      total.abs += sums.abs;
      total.count += sums.count;
      total.max = Math.max(total.max, sums.max);
      total.ignored += sums.ignored;
      total.inexact += sums.inexact;
      continue;
    }
    for (const { ms, report } of bucket.reports) {
      if (ms < start) continue;
      const c = contributionOf(metric, report, rollup.pack);
      if (c !== null) addTo(total, c);
    }
  }
  return total;
}

function countSince(values: Iterable<number>, start: number): number {
  let n = 0;
  for (const ms of values) if (ms >= start) n += 1;
  return n;
}

/** One metric over the window starting at `start` (ms); null when the sum would not be exact. */
function measureSince(
  rollup: StageRollup,
  metric: HealthMetric,
  start: number,
): HealthMeasure | null {
  const targets = countSince(
    (rollup.contributed.get(metric) as Map<string, number>).values(),
    start,
  );
  if (metric === 'activation_success_rate') {
    let samples = 0;
    let ok = 0;
    for (const seen of rollup.attempts.values()) {
      if (seen.ms < start) continue;
      samples += 1;
      if (seen.ok) ok += 1;
    }
    return { measured: samples === 0 ? null : ok / samples, targets, samples, ignored: 0 };
  }
  const sums = sumsSince(rollup, metric, start);
  if (sums.inexact > 0) return null;
  const ignored = sums.ignored;
  if (metric === 'error_rate') {
    if (sums.requests > Number.MAX_SAFE_INTEGER) return null;
    const measured = sums.requests === 0 ? null : sums.errors / sums.requests;
    return { measured, targets, samples: sums.requests, ignored };
  }
  if (sums.count === 0) return { measured: null, targets, samples: 0, ignored };
  if (metric.startsWith('signal:')) {
    if (sums.abs > Number.MAX_SAFE_INTEGER) return null;
    return { measured: sums.sum / sums.count, targets, samples: sums.count, ignored };
  }
  return { measured: sums.max, targets, samples: sums.count, ignored };
}

/**
 * The rollup read at `now`: one measure per (metric, window) asked for, and the refusals of the
 * latest reports made since `reportsFrom`. Null when it cannot give exactly what the reports
 * give: a window or `reportsFrom` before the horizon, a report newer than `now`, a metric it does
 * not roll up, or a sum that would depend on the order of the reports.
 */
export function measureStage(
  rollup: StageRollup,
  input: {
    now: string;
    reportsFrom: string;
    windows: readonly { metric: HealthMetric; windowSeconds: number }[];
  },
): StageMeasures | null {
  const nowMs = parseTime(input.now);
  const fromMs = parseTime(input.reportsFrom);
  if (nowMs === null || fromMs === null || fromMs < rollup.horizon || rollup.newest > nowMs) {
    return null;
  }
  const metrics: StageMetricMeasure[] = [];
  for (const { metric, windowSeconds } of input.windows) {
    const start = nowMs - windowSeconds * 1000;
    if (start < rollup.horizon || !rollup.contributed.has(metric)) return null;
    const m = measureSince(rollup, metric, start);
    if (m === null) return null;
    metrics.push({ metric, windowSeconds, ...m });
  }
  metrics.sort((a, b) =>
    a.metric === b.metric ? a.windowSeconds - b.windowSeconds : a.metric < b.metric ? -1 : 1,
  );
  const refusals: StageRefusalCandidate[] = [];
  for (const latest of rollup.latest.values()) {
    if (latest.refusal !== null && latest.ms >= fromMs) refusals.push(latest.refusal);
  }
  refusals.sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
  return {
    at: new Date(nowMs).toISOString(),
    pack: rollup.pack,
    reportsFrom: input.reportsFrom,
    metrics,
    refusals,
  };
}
