/**
 * The spec of a `compare` gate and its checks (compare-gate.ts judges the looks).
 */
import { LockgateError } from '../errors.ts';

export type CompareMetric = 'error_rate' | 'activation_failure_rate' | 'latency';

export const COMPARE_METRICS: readonly CompareMetric[] = [
  'error_rate',
  'activation_failure_rate',
  'latency',
];

/** The tolerated harm: a relative increase (0.1 = 10 % worse) or an absolute rate difference. */
export type CompareMargin = { relative: number } | { absolute: number };

export interface CompareGateSpec {
  kind: 'compare';
  metric: CompareMetric;
  /** the false-rollback rate: P(ever fail | canary no worse) ≤ alpha, in (0, 0.5] */
  alpha: number;
  margin: CompareMargin;
  /** requests (or activation attempts) each side needs before any verdict; integer ≥ 1 */
  minSamples: number;
  /** how far back reports count when the server builds a look; integer > 0 */
  windowSeconds: number;
  /** latency only: increasing bucket bounds in milliseconds (1 to 8 of them) */
  latencyBoundsMs?: number[];
  /** τ of the normal mixture; default 0.5 on the log-ratio scale, 2 × margin on the absolute */
  mixtureScale?: number;
  /**
   * how far back before the stage started the server reads each member's reports on the base
   * pack as its history (compareGate's `history`); integer > 0; absent: no history
   */
  historySeconds?: number;
}

const SPEC_FIELDS = [
  'kind',
  'metric',
  'alpha',
  'margin',
  'minSamples',
  'windowSeconds',
  'latencyBoundsMs',
  'mixtureScale',
  'historySeconds',
];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function positiveFinite(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

/**
 * Problems of an unknown value as a CompareGateSpec; empty when valid. `extraFields` are fields
 * the caller reads itself (a plan gate's `mode`, `onFail`).
 */
export function compareGateProblems(
  value: unknown,
  path = 'gate',
  extraFields: readonly string[] = [],
): string[] {
  if (!isObject(value)) return [`${path} must be an object`];
  const problems: string[] = [];
  for (const field of Object.keys(value)) {
    if (!SPEC_FIELDS.includes(field) && !extraFields.includes(field)) {
      problems.push(`${path}.${field} is not a compare gate field`);
    }
  }
  if (value.kind !== 'compare') problems.push(`${path}.kind must be compare`);
  if (
    typeof value.metric !== 'string' ||
    !(COMPARE_METRICS as readonly string[]).includes(value.metric)
  ) {
    problems.push(`${path}.metric must be one of ${COMPARE_METRICS.join(', ')}`);
  }
  if (!positiveFinite(value.alpha) || value.alpha > 0.5) {
    problems.push(`${path}.alpha must be a number in (0, 0.5]`);
  }
  const margin = value.margin;
  if (!isObject(margin) || Object.keys(margin).length !== 1) {
    problems.push(`${path}.margin must be {relative: r} or {absolute: a}`);
  } else if ('relative' in margin) {
    if (!positiveFinite(margin.relative))
      problems.push(`${path}.margin.relative must be a number > 0`);
  } else if ('absolute' in margin) {
    if (!positiveFinite(margin.absolute) || margin.absolute >= 1) {
      problems.push(`${path}.margin.absolute must be a number in (0, 1)`);
    }
  } else {
    problems.push(`${path}.margin must be {relative: r} or {absolute: a}`);
  }
  if (!Number.isSafeInteger(value.minSamples) || (value.minSamples as number) < 1) {
    problems.push(`${path}.minSamples must be an integer ≥ 1`);
  }
  if (!Number.isSafeInteger(value.windowSeconds) || (value.windowSeconds as number) <= 0) {
    problems.push(`${path}.windowSeconds must be a positive integer`);
  }
  const bounds = value.latencyBoundsMs;
  if (value.metric === 'latency') {
    if (
      !Array.isArray(bounds) ||
      bounds.length < 1 ||
      bounds.length > 8 ||
      !bounds.every((b, i) => positiveFinite(b) && (i === 0 || b > (bounds[i - 1] as number)))
    ) {
      problems.push(`${path}.latencyBoundsMs must be 1 to 8 increasing positive numbers`);
    }
  } else if (bounds !== undefined) {
    problems.push(`${path}.latencyBoundsMs is for the latency metric only`);
  }
  if (
    value.historySeconds !== undefined &&
    (!Number.isSafeInteger(value.historySeconds) || (value.historySeconds as number) <= 0)
  ) {
    problems.push(`${path}.historySeconds must be a positive integer`);
  }
  if (value.mixtureScale !== undefined && !positiveFinite(value.mixtureScale)) {
    problems.push(`${path}.mixtureScale must be a number > 0`);
  }
  return problems;
}

/** Checks the spec, or throws PLAN_INVALID with details.problems. */
export function checkCompareGateSpec(spec: CompareGateSpec): void {
  const problems = compareGateProblems(spec);
  if (problems.length > 0) {
    throw new LockgateError('PLAN_INVALID', `The compare gate is malformed: ${problems[0]}.`, {
      details: { problems },
    });
  }
}
