/**
 * Health gates: a metric of the stage's targets compared with a threshold over a window.
 *
 * Inputs are target reports (counters are deltas since the target's previous report). Only
 * reports with `now - windowSeconds ≤ at ≤ now` count. When `pack` is given, traffic, latency and
 * signal metrics use only reports whose `activePack` is that pack, and activation attempts only
 * those of that pack; without it the caller has already selected the reports.
 *
 * Metrics (choices documented here on purpose, the agent and the server read the same rules):
 * - `error_rate` = Σ errors / Σ requests over the reports; samples = Σ requests. A report whose
 *   counters are missing, negative, not finite or with errors > requests is ignored.
 * - `activation_success_rate` = ok / all activation attempts (`lastAttempt.kind = 'activate'`)
 *   of the pack seen in the reports, each attempt counted once per (target, attempt time) even
 *   when repeated in several reports; samples = attempts. The attempt may predate the window:
 *   a report in the window that carries it is what counts. A failed activation leaves the target
 *   on its old pack, so these attempts are read from every report, whatever its `activePack`.
 * - `latency_p95_ms` / `latency_p99_ms` = the worst (max) value any report gives; samples =
 *   reports carrying the value.
 * - `signal:NAME` = the mean of that signal over the reports carrying it; samples = those reports.
 * `targets` counts distinct targets that contributed to the measure.
 *
 * Verdict: fewer than `minTargets` targets or `minSamples` samples, or nothing to measure →
 * `inconclusive` (never `pass`); otherwise `pass` when `measured op threshold` holds, else `fail`.
 */
import type { CompareMetric } from '../judgment/compare-gate.ts';
import type { CompareGateRecord } from './compare-stage-gate.ts';
import type { GateMode, GateOnFail } from './gate-policy.ts';
import { parseTime } from './instant.ts';
import type { Instant } from './instant.ts';
import { toMillis } from './instant.ts';

export type BuiltinMetric =
  'activation_success_rate' | 'error_rate' | 'latency_p95_ms' | 'latency_p99_ms';

export type HealthMetric = BuiltinMetric | `signal:${string}`;

export const BUILTIN_METRICS: readonly BuiltinMetric[] = [
  'activation_success_rate',
  'error_rate',
  'latency_p95_ms',
  'latency_p99_ms',
];

export type GateOperator = '<=' | '<' | '>=' | '>';

export const GATE_OPERATORS: readonly GateOperator[] = ['<=', '<', '>=', '>'];

export interface HealthGateSpec {
  metric: HealthMetric;
  op: GateOperator;
  threshold: number;
  windowSeconds: number;
  /** at least 1: a gate never passes on no targets */
  minTargets: number;
  /** at least 1: a gate never passes on no samples */
  minSamples: number;
}

export type AttemptKind = 'activate' | 'revert' | 'verify';

export interface TargetAttempt {
  kind: AttemptKind;
  pack: string;
  result: 'ok' | 'failed';
  code?: string;
  at: string;
}

export interface TargetHealth {
  requests?: number;
  errors?: number;
  latencyP95Ms?: number;
  latencyP99Ms?: number;
  signals?: Record<string, number>;
}

/** What a target reports; counters are deltas since its previous report. */
export interface TargetReport {
  targetId: string;
  at: string;
  activePack: string | null;
  lastAttempt?: TargetAttempt;
  health?: TargetHealth;
}

export type GateVerdict = 'pass' | 'fail' | 'inconclusive';

export interface HealthGateResult {
  /** `prometheus` for a prometheus gate (prometheus-gate.ts); a compare gate's metric */
  metric: HealthMetric | 'prometheus' | CompareMetric;
  /** set for a compare gate (compare-stage-gate.ts) */
  kind?: 'compare';
  /** set by the stage: which gate of the plan this is (`stage-name#index`) */
  gate?: string;
  /** the gate's policy (gate-policy.ts), set by the stage: shadow verdicts never act */
  mode?: GateMode;
  onFail?: GateOnFail;
  verdict: GateVerdict;
  measured: number | null;
  threshold: number;
  op: GateOperator;
  targets: number;
  samples: number;
  reasons: string[];
  /** prometheus gates only: the rendered query and the answer judged, so the verdict replays */
  provider?: 'prometheus';
  query?: string;
  answer?: {
    at: string;
    status: 'success' | 'error';
    series: { labels: Record<string, string>; value: string }[];
  };
  /** compare gates only: the evidence, baseline and the last look (compare-stage-gate.ts) */
  compare?: CompareGateRecord;
}

const SIGNAL_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$/;

export function isHealthMetric(value: unknown): value is HealthMetric {
  if (typeof value !== 'string') return false;
  if ((BUILTIN_METRICS as readonly string[]).includes(value)) return true;
  return value.startsWith('signal:') && SIGNAL_NAME.test(value.slice('signal:'.length));
}

/** Problems of an unknown value as a HealthGateSpec; empty when valid. */
export function healthGateProblems(value: unknown, path = 'gate'): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return [`${path} must be an object`];
  }
  const gate = value as Record<string, unknown>;
  const problems: string[] = [];
  const fields = ['metric', 'op', 'threshold', 'windowSeconds', 'minTargets', 'minSamples'];
  for (const field of Object.keys(gate)) {
    if (!fields.includes(field)) problems.push(`${path}.${field} is not a gate field`);
  }
  if (!isHealthMetric(gate.metric)) {
    problems.push(`${path}.metric must be one of ${BUILTIN_METRICS.join(', ')} or signal:NAME`);
  }
  if (typeof gate.op !== 'string' || !(GATE_OPERATORS as readonly string[]).includes(gate.op)) {
    problems.push(`${path}.op must be one of ${GATE_OPERATORS.join(' ')}`);
  }
  if (typeof gate.threshold !== 'number' || !Number.isFinite(gate.threshold)) {
    problems.push(`${path}.threshold must be a finite number`);
  }
  if (!Number.isSafeInteger(gate.windowSeconds) || (gate.windowSeconds as number) <= 0) {
    problems.push(`${path}.windowSeconds must be a positive integer`);
  }
  for (const field of ['minTargets', 'minSamples'] as const) {
    if (!Number.isSafeInteger(gate[field]) || (gate[field] as number) < 1) {
      problems.push(`${path}.${field} must be an integer ≥ 1`);
    }
  }
  return problems;
}

function compare(measured: number, op: GateOperator, threshold: number): boolean {
  switch (op) {
    case '<=':
      return measured <= threshold;
    case '<':
      return measured < threshold;
    case '>=':
      return measured >= threshold;
    case '>':
      return measured > threshold;
    default:
      return false;
  }
}

function nonNegative(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

interface Measure {
  measured: number | null;
  targets: Set<string>;
  samples: number;
  ignored: number;
}

function measure(
  metric: HealthMetric,
  reports: readonly TargetReport[],
  pack: string | null,
): Measure {
  const targets = new Set<string>();
  let ignored = 0;
  const running = (r: TargetReport): boolean => pack === null || r.activePack === pack;
  if (metric === 'activation_success_rate') {
    const attempts = new Map<string, boolean>();
    for (const r of reports) {
      const a = r.lastAttempt;
      if (a === undefined || a.kind !== 'activate' || (pack !== null && a.pack !== pack)) continue;
      attempts.set(`${r.targetId}\n${a.at}`, a.result === 'ok');
      targets.add(r.targetId);
    }
    const ok = [...attempts.values()].filter(Boolean).length;
    const samples = attempts.size;
    return { measured: samples === 0 ? null : ok / samples, targets, samples, ignored };
  }
  if (metric === 'error_rate') {
    let requests = 0;
    let errors = 0;
    for (const r of reports) {
      const h = r.health;
      if (!running(r) || h === undefined || (h.requests === undefined && h.errors === undefined)) {
        continue;
      }
      const req = h.requests ?? 0;
      const err = h.errors ?? 0;
      if (!nonNegative(req) || !nonNegative(err) || err > req) {
        ignored += 1;
        continue;
      }
      requests += req;
      errors += err;
      if (req > 0) targets.add(r.targetId);
    }
    return {
      measured: requests === 0 ? null : errors / requests,
      targets,
      samples: requests,
      ignored,
    };
  }
  const values: number[] = [];
  for (const r of reports) {
    if (!running(r) || r.health === undefined) continue;
    const value =
      metric === 'latency_p95_ms'
        ? r.health.latencyP95Ms
        : metric === 'latency_p99_ms'
          ? r.health.latencyP99Ms
          : r.health.signals?.[metric.slice('signal:'.length)];
    if (value === undefined) continue;
    const valid = metric.startsWith('signal:') ? Number.isFinite(value) : nonNegative(value);
    if (!valid) {
      ignored += 1;
      continue;
    }
    values.push(value);
    targets.add(r.targetId);
  }
  if (values.length === 0) return { measured: null, targets, samples: 0, ignored };
  const measured = metric.startsWith('signal:')
    ? values.reduce((sum, v) => sum + v, 0) / values.length
    : Math.max(...values);
  return { measured, targets, samples: values.length, ignored };
}

/** The reports a gate with this window reads at `now`: `now - window ≤ at ≤ now`. */
export function reportsInWindow(
  reports: readonly TargetReport[],
  windowSeconds: number,
  now: Instant,
): TargetReport[] {
  const end = toMillis(now);
  const start = end - windowSeconds * 1000;
  return reports.filter((r) => {
    const at = parseTime(r.at);
    return at !== null && at >= start && at <= end;
  });
}

/** What a health gate measured, before it is judged against its threshold. */
export interface HealthMeasure {
  measured: number | null;
  /** distinct targets that contributed */
  targets: number;
  samples: number;
  /** reports with invalid values left out */
  ignored: number;
}

/** Evaluates one health gate on target reports at `now`. Pure; never passes without data. */
export function evaluateHealthGate(
  spec: HealthGateSpec,
  reports: readonly TargetReport[],
  now: Instant,
  options: { pack?: string | null } = {},
): HealthGateResult {
  const inWindow = reportsInWindow(reports, spec.windowSeconds, now);
  const m = measure(spec.metric, inWindow, options.pack ?? null);
  return judgeHealthMeasure(spec, { ...m, targets: m.targets.size });
}

/**
 * Judges what a health gate measured (from reports or from a stage rollup, stage-rollup.ts):
 * the same measure always gives the same result, whichever way it was measured.
 */
export function judgeHealthMeasure(spec: HealthGateSpec, m: HealthMeasure): HealthGateResult {
  const reasons: string[] = [];
  const base = { metric: spec.metric, threshold: spec.threshold, op: spec.op };
  const result = (verdict: GateVerdict): HealthGateResult => ({
    ...base,
    verdict,
    measured: m.measured,
    targets: m.targets,
    samples: m.samples,
    reasons,
  });
  if (m.ignored > 0) reasons.push(`${m.ignored} report(s) with invalid values ignored`);
  if (m.measured === null) {
    reasons.push(`no data for ${spec.metric} in the last ${spec.windowSeconds}s`);
    return result('inconclusive');
  }
  let enough = true;
  if (m.targets < spec.minTargets) {
    reasons.push(`${m.targets} target(s) reported, ${spec.minTargets} needed`);
    enough = false;
  }
  if (m.samples < spec.minSamples) {
    reasons.push(`${m.samples} sample(s), ${spec.minSamples} needed`);
    enough = false;
  }
  if (!enough) return result('inconclusive');
  const ok = compare(m.measured, spec.op, spec.threshold);
  reasons.push(
    `${spec.metric} = ${m.measured} ${ok ? 'satisfies' : 'violates'} ${spec.op} ${spec.threshold}`,
  );
  return result(ok ? 'pass' : 'fail');
}
