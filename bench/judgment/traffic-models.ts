/**
 * Traffic models of the judgment harness: what canary and baseline targets report at each look.
 *
 * A look is one report interval (5 minutes); a run is one stage of `looks` looks. Each model has
 * per-target heterogeneity (traffic and error rate differ between targets and stay so: sticky
 * bucketing puts a random mix of targets on each side) and a day effect (the base error rate of
 * the whole run varies from day to day, the same for both sides). On top of that a model may add
 * overdispersion (a gamma-distributed multiplier per target and look), a diurnal swing of traffic
 * and error rate, low traffic, or zero-inflated errors (errors only in bursts). Before the stage
 * each target has a history on the base pack (drawHistory, historyLooksOf): the same targets, a
 * day effect of its own, the diurnal phase running on into the stage.
 */
import type { Random } from './random.ts';

export interface TrafficModel {
  name: string;
  description: string;
  targetsPerSide: number;
  looks: number;
  /** requests per target per look, before per-target spread and diurnal swing */
  meanRequests: number;
  /** lognormal σ of the per-target traffic multiplier */
  trafficSpread: number;
  /** mean base error rate */
  errorRate: number;
  /** lognormal σ of the per-target error-rate multiplier (persistent) */
  targetSpread: number;
  /** lognormal σ of the run-level error-rate multiplier (a good or bad traffic day) */
  daySpread: number;
  /** gamma shape of the per-target-and-look error-rate multiplier; 0 = none */
  dispersionShape: number;
  /** relative amplitude of the diurnal swing (traffic, and error rate with it) */
  diurnalAmplitude: number;
  /** zero-inflated errors: a burst happens in a target's look with this probability … */
  burstProbability: number;
  /** … and then errors come at this rate; 0 = no bursts (errorRate applies) */
  burstErrorRate: number;
  latency: { medianMs: number; sigma: number; targetSpread: number; lookSpread: number };
}

/** Latency bucket bounds every latency configuration reports. */
export const LATENCY_BOUNDS_MS = [100, 200, 400];

const BASE: TrafficModel = {
  name: 'heterogeneous',
  description:
    '10 targets a side, ~100 requests per target per look, rates and traffic differ by target; stages of 60 looks (5 hours)',
  targetsPerSide: 10,
  looks: 60,
  meanRequests: 100,
  trafficSpread: 0.5,
  errorRate: 0.005,
  targetSpread: 0.15,
  daySpread: 0.35,
  dispersionShape: 0,
  diurnalAmplitude: 0,
  burstProbability: 0,
  burstErrorRate: 0,
  latency: { medianMs: 80, sigma: 0.6, targetSpread: 0.1, lookSpread: 0.05 },
};

export const TRAFFIC_MODELS: readonly TrafficModel[] = [
  BASE,
  {
    ...BASE,
    name: 'heterogeneous-strong',
    description:
      'as heterogeneous, with targets far apart: traffic σ 0.8, error-rate σ 0.3 (lognormal); stages of 60 looks',
    trafficSpread: 0.8,
    targetSpread: 0.3,
  },
  {
    ...BASE,
    name: 'overdispersed',
    description:
      'as heterogeneous, with a gamma(shape 1.5) error-rate multiplier per target and look; stages of 120 looks (10 hours)',
    looks: 120,
    dispersionShape: 1.5,
    latency: { ...BASE.latency, lookSpread: 0.15 },
  },
  {
    ...BASE,
    name: 'diurnal',
    description:
      'as heterogeneous, traffic and error rate swing ±60 % over a day, random phase; stages of 288 looks (one day, the whole swing)',
    looks: 288,
    diurnalAmplitude: 0.6,
  },
  {
    ...BASE,
    name: 'low-traffic',
    description:
      '3 targets a side, ~4 requests per target per look, 1 % errors; stages of 4032 looks (two weeks)',
    targetsPerSide: 3,
    looks: 4032,
    meanRequests: 4,
    errorRate: 0.01,
    trafficSpread: 0.5,
  },
  {
    ...BASE,
    name: 'zero-inflated',
    description:
      '10 targets a side, ~30 requests per target per look, errors only in bursts (4 % of looks at 12.5 %); stages of 1152 looks (four days)',
    meanRequests: 30,
    looks: 1152,
    burstProbability: 0.04,
    burstErrorRate: 0.125,
  },
];

/** One run's fixed draws: per-target traffic and error multipliers, the day, the phase. */
export interface RunDraw {
  traffic: Float64Array;
  errorMultiplier: Float64Array;
  latencyMultiplier: Float64Array;
  day: number;
  phase: number;
}

/** Targets 0 … k−1 are the canary, k … 2k−1 the baseline. */
export function drawRun(model: TrafficModel, random: Random): RunDraw {
  const n = 2 * model.targetsPerSide;
  const traffic = new Float64Array(n);
  const errorMultiplier = new Float64Array(n);
  const latencyMultiplier = new Float64Array(n);
  const lognormal = (sigma: number): number =>
    Math.exp(sigma * random.normal() - (sigma * sigma) / 2);
  for (let i = 0; i < n; i += 1) {
    traffic[i] = model.meanRequests * lognormal(model.trafficSpread);
    errorMultiplier[i] = lognormal(model.targetSpread);
    latencyMultiplier[i] = Math.exp(model.latency.targetSpread * random.normal());
  }
  return {
    traffic,
    errorMultiplier,
    latencyMultiplier,
    day: lognormal(model.daySpread),
    phase: random.next(),
  };
}

export interface LookCounts {
  requests: Int32Array;
  errors: Int32Array;
  /** slower[i * bounds + j] = requests of target i slower than LATENCY_BOUNDS_MS[j] */
  slower: Int32Array;
}

export function createLookCounts(model: TrafficModel): LookCounts {
  const n = 2 * model.targetsPerSide;
  return {
    requests: new Int32Array(n),
    errors: new Int32Array(n),
    slower: new Int32Array(n * LATENCY_BOUNDS_MS.length),
  };
}

/** P(Z > z) of a standard normal (Abramowitz–Stegun 7.1.26 through erfc). */
function upperTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const y =
    t *
    (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erfc = y * Math.exp(-x * x);
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
}

/**
 * Draws one look into `out`. `errorFactor` multiplies the canary's error rate, `latencyFactor`
 * its latency; both 1 in an A/A run.
 */
export function drawLook(
  model: TrafficModel,
  run: RunDraw,
  look: number,
  errorFactor: number,
  latencyFactor: number,
  withLatency: boolean,
  random: Random,
  out: LookCounts,
): void {
  const k = model.targetsPerSide;
  const swing =
    model.diurnalAmplitude === 0
      ? 1
      : 1 + model.diurnalAmplitude * Math.sin(2 * Math.PI * (run.phase + look / 288));
  const bounds = LATENCY_BOUNDS_MS.length;
  for (let i = 0; i < 2 * k; i += 1) {
    const canary = i < k;
    const requests = random.poisson((run.traffic[i] as number) * swing);
    out.requests[i] = requests;
    let rate = 0;
    if (model.burstErrorRate > 0) {
      rate = random.next() < model.burstProbability ? model.burstErrorRate : 0;
    } else {
      rate = model.errorRate;
    }
    rate *= run.day * (run.errorMultiplier[i] as number) * swing;
    if (model.dispersionShape > 0) {
      rate *= random.gamma(model.dispersionShape) / model.dispersionShape;
    }
    if (canary) rate *= errorFactor;
    out.errors[i] = rate === 0 ? 0 : random.binomial(requests, Math.min(1, rate));
    if (withLatency) {
      let median = model.latency.medianMs * (run.latencyMultiplier[i] as number);
      median *= Math.exp(model.latency.lookSpread * random.normal());
      if (canary) median *= latencyFactor;
      let left = requests;
      let previous = 1;
      for (let j = 0; j < bounds; j += 1) {
        const q = upperTail(
          (Math.log(LATENCY_BOUNDS_MS[j] as number) - Math.log(median)) / model.latency.sigma,
        );
        // nested: slower than bound j+1 is a subset of slower than bound j
        left = random.binomial(left, previous > 0 ? Math.min(1, q / previous) : 0);
        out.slower[i * bounds + j] = left;
        previous = q;
      }
    }
  }
}

/** Each target's totals over the history: requests, errors, slower[i * bounds + j]. */
export interface HistoryCounts {
  looks: number;
  requests: Float64Array;
  errors: Float64Array;
  slower: Float64Array;
}

/**
 * How long a target's history before the stage is: one day, or the stage's length when that is
 * longer. The base pack has run at least that long before a release in any realistic cadence, and
 * a whole day averages each target's rate over the diurnal swing.
 */
export function historyLooksOf(model: TrafficModel): number {
  return Math.max(model.looks, 288);
}

/**
 * Draws the `looks` looks before the stage on the base pack (no regression on either side): the
 * same targets with the same persistent traffic and error multipliers, a day effect of its own
 * (the history is another day), and the diurnal phase continuing up to the stage's start.
 */
export function drawHistory(
  model: TrafficModel,
  run: RunDraw,
  looks: number,
  withLatency: boolean,
  random: Random,
): HistoryCounts {
  const sigma = model.daySpread;
  const day = Math.exp(sigma * random.normal() - (sigma * sigma) / 2);
  const before: RunDraw = { ...run, day };
  const n = 2 * model.targetsPerSide;
  const out: HistoryCounts = {
    looks,
    requests: new Float64Array(n),
    errors: new Float64Array(n),
    slower: new Float64Array(n * LATENCY_BOUNDS_MS.length),
  };
  const look = createLookCounts(model);
  for (let j = 0; j < looks; j += 1) {
    drawLook(model, before, j - looks, 1, 1, withLatency, random, look);
    for (let i = 0; i < n; i += 1) {
      out.requests[i] = (out.requests[i] as number) + (look.requests[i] as number);
      out.errors[i] = (out.errors[i] as number) + (look.errors[i] as number);
    }
    for (let i = 0; i < look.slower.length; i += 1) {
      out.slower[i] = (out.slower[i] as number) + (look.slower[i] as number);
    }
  }
  return out;
}
