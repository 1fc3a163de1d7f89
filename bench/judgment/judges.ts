/**
 * The judges the harness compares, each fed the same looks:
 * - `fixed-0.05`: today's health gate, canary error rate ≤ 0.05 over the last look (window 300 s,
 *   one 5-minute look), at least 100 requests (DEFAULT_GATES of core/release/plan.ts).
 * - `fixed-calibrated`: the same kind of judge on the canary's rate since the stage started, its
 *   threshold set per model so that its A/A false-rollback rate is 1 % (the 99th percentile of
 *   the A/A runs' highest rate) — the best a fixed threshold can do, and an oracle one.
 * - `flagger-like`: every look is a check of the canary's rate in that look against 2 × the
 *   model's nominal rate; the 5th failed check rolls back (Flagger's interval × threshold).
 * - `kayenta-like`: at the end of the stage, a two-sided Mann-Whitney U test at confidence 0.98 of
 *   the per-look canary rates against the per-look baseline rates; fails when significant and the
 *   canary ranks higher (Kayenta's NetflixACAJudge classifier, no effect-size tolerance).
 * - `sequential`: core's compareGate at α = 0.01, looked at every look.
 * For latency the first four read the share of requests slower than the middle bound; the
 * sequential judge reads every bound.
 */
import { compareGate } from '@lockgate/core';
import type {
  CompareGateSpec,
  CompareGateState,
  CompareHistory,
  TargetCounts,
} from '@lockgate/core';
import { LATENCY_BOUNDS_MS } from './traffic-models.ts';
import type { HistoryCounts, LookCounts } from './traffic-models.ts';

export const JUDGES = [
  'fixed-0.05',
  'fixed-calibrated',
  'flagger-like',
  'kayenta-like',
  'sequential',
] as const;
export type JudgeName = (typeof JUDGES)[number];

export interface Judge {
  /** true when the judge rolls back at this look */
  look(counts: LookCounts): boolean;
  /** true when the judge rolls back at the end of the stage */
  end(): boolean;
}

export interface StreamReader {
  /** the events of target i that the non-sequential judges read */
  events(counts: LookCounts, i: number): number;
}

export const ERRORS: StreamReader = { events: (c, i) => c.errors[i] as number };
export const SLOWER_THAN_MIDDLE: StreamReader = {
  events: (c, i) => c.slower[i * LATENCY_BOUNDS_MS.length + 1] as number,
};

function sums(
  counts: LookCounts,
  reader: StreamReader,
  from: number,
  to: number,
): [number, number] {
  let requests = 0;
  let events = 0;
  for (let i = from; i < to; i += 1) {
    requests += counts.requests[i] as number;
    events += reader.events(counts, i);
  }
  return [requests, events];
}

export function fixedWindowJudge(k: number, reader: StreamReader, threshold: number): Judge {
  return {
    look(counts) {
      const [requests, events] = sums(counts, reader, 0, k);
      return requests >= 100 && events / requests > threshold;
    },
    end: () => false,
  };
}

/** Since-start canary rate above the threshold; `onRate` sees each rate judged (calibration). */
export function fixedCumulativeJudge(
  k: number,
  reader: StreamReader,
  threshold: number,
  onRate: (rate: number) => void = () => {},
): Judge {
  let requests = 0;
  let events = 0;
  return {
    look(counts) {
      const [r, e] = sums(counts, reader, 0, k);
      requests += r;
      events += e;
      if (requests < 100) return false;
      onRate(events / requests);
      return events / requests > threshold;
    },
    end: () => false,
  };
}

export function flaggerJudge(k: number, reader: StreamReader, maxRate: number): Judge {
  let failed = 0;
  return {
    look(counts) {
      const [requests, events] = sums(counts, reader, 0, k);
      if (requests > 0 && events / requests > maxRate) failed += 1;
      return failed >= 5;
    },
    end: () => false,
  };
}

/** Two-sided Mann-Whitney p-value (normal approximation, tie-corrected) and the canary's side. */
export function mannWhitney(
  canary: readonly number[],
  baseline: readonly number[],
): { p: number; canaryHigher: boolean } {
  const n1 = canary.length;
  const n2 = baseline.length;
  if (n1 === 0 || n2 === 0) return { p: 1, canaryHigher: false };
  const all = [...canary.map((v) => [v, 0] as const), ...baseline.map((v) => [v, 1] as const)];
  all.sort((a, b) => a[0] - b[0]);
  const n = all.length;
  let rankSum = 0;
  let tieTerm = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (
      j + 1 < n &&
      (all[j + 1] as readonly [number, number])[0] === (all[i] as readonly [number, number])[0]
    )
      j += 1;
    const rank = (i + j + 2) / 2;
    const t = j - i + 1;
    tieTerm += t * t * t - t;
    for (let m = i; m <= j; m += 1)
      if ((all[m] as readonly [number, number])[1] === 0) rankSum += rank;
    i = j + 1;
  }
  const u = rankSum - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (variance <= 0) return { p: 1, canaryHigher: false };
  const z = (Math.abs(u - mean) - 0.5) / Math.sqrt(variance);
  return { p: Math.min(1, 2 * normalUpperTail(Math.max(0, z))), canaryHigher: u > mean };
}

function normalUpperTail(z: number): number {
  const x = z / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const y =
    t *
    (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return (y * Math.exp(-x * x)) / 2;
}

export function kayentaJudge(k: number, reader: StreamReader): Judge {
  const canary: number[] = [];
  const baseline: number[] = [];
  return {
    look(counts) {
      const [cr, ce] = sums(counts, reader, 0, k);
      const [br, be] = sums(counts, reader, k, 2 * k);
      if (cr > 0) canary.push(ce / cr);
      if (br > 0) baseline.push(be / br);
      return false;
    },
    end() {
      const { p, canaryHigher } = mannWhitney(canary, baseline);
      return canaryHigher && p < 0.02;
    },
  };
}

export function sequentialSpec(latency: boolean): CompareGateSpec {
  return latency
    ? {
        kind: 'compare',
        metric: 'latency',
        alpha: 0.01,
        margin: { relative: 0.2 },
        minSamples: 100,
        windowSeconds: 300,
        latencyBoundsMs: [...LATENCY_BOUNDS_MS],
      }
    : {
        kind: 'compare',
        metric: 'error_rate',
        alpha: 0.01,
        margin: { relative: 0.2 },
        minSamples: 100,
        windowSeconds: 300,
      };
}

/** Each target's pre-stage totals in compareGate's shape. */
export function historyOf(k: number, spec: CompareGateSpec, counts: HistoryCounts): CompareHistory {
  const bounds = LATENCY_BOUNDS_MS.length;
  const history: { canary: Record<string, TargetCounts>; baseline: Record<string, TargetCounts> } =
    { canary: {}, baseline: {} };
  for (let i = 0; i < 2 * k; i += 1) {
    const requests = counts.requests[i] as number;
    const row: TargetCounts =
      spec.metric === 'latency'
        ? { requests, slower: Array.from(counts.slower.subarray(i * bounds, (i + 1) * bounds)) }
        : { requests, errors: counts.errors[i] };
    (i < k ? history.canary : history.baseline)[`t${i}`] = row;
  }
  return history;
}

/**
 * core's compareGate; `onPass` is told the first look non-inferiority is shown. With `history`
 * (each target's pre-stage totals) every look is judged against the targets' own history.
 */
export function sequentialJudge(
  k: number,
  spec: CompareGateSpec,
  onPass: () => void = () => {},
  history?: CompareHistory,
): Judge {
  const ids = Array.from({ length: 2 * k }, (_, i) => `t${i}`);
  const latency = spec.metric === 'latency';
  const bounds = LATENCY_BOUNDS_MS.length;
  let state: CompareGateState | null = null;
  let passed = false;
  return {
    look(counts) {
      const canary: Record<string, TargetCounts> = {};
      const baseline: Record<string, TargetCounts> = {};
      for (let i = 0; i < 2 * k; i += 1) {
        const requests = counts.requests[i] as number;
        const row: TargetCounts = latency
          ? { requests, slower: Array.from(counts.slower.subarray(i * bounds, (i + 1) * bounds)) }
          : { requests, errors: counts.errors[i] };
        (i < k ? canary : baseline)[ids[i] as string] = row;
      }
      const result = compareGate(spec, canary, baseline, state, history);
      state = result.state;
      if (result.verdict === 'pass' && !passed) {
        passed = true;
        onPass();
      }
      return result.verdict === 'fail';
    },
    end: () => false,
  };
}
