/**
 * Runs one configuration of the harness (a traffic model, errors or latency, a regression factor,
 * a number of runs) and counts, per judge, the runs it rolled back and the canary samples it had
 * seen when it did. Every judge sees the same looks of the same seeded runs.
 */
import {
  ERRORS,
  JUDGES,
  SLOWER_THAN_MIDDLE,
  fixedCumulativeJudge,
  fixedWindowJudge,
  flaggerJudge,
  historyOf,
  kayentaJudge,
  sequentialJudge,
  sequentialSpec,
} from './judges.ts';
import type { Judge, JudgeName } from './judges.ts';
import { createRandom, seedOf } from './random.ts';
import {
  LATENCY_BOUNDS_MS,
  createLookCounts,
  drawHistory,
  drawLook,
  drawRun,
  historyLooksOf,
} from './traffic-models.ts';
import type { TrafficModel } from './traffic-models.ts';

export interface Configuration {
  model: TrafficModel;
  metric: 'errors' | 'latency';
  /** the canary's error-rate (or latency) multiplier; 1 = A/A */
  factor: number;
  runs: number;
  seed: string;
  /** the fixed-calibrated judge's threshold; Infinity while calibrating on A/A */
  fixedThreshold: number;
  /**
   * looks of history before the stage the sequential judge compares each target with; default
   * historyLooksOf(model), 0 = none (the judge as it was before history)
   */
  historyLooks?: number;
}

export interface JudgeOutcome {
  rollbacks: number;
  /** canary samples (requests) seen at each rollback */
  samples: number[];
}

export interface ConfigurationResult {
  model: string;
  metric: 'errors' | 'latency';
  factor: number;
  runs: number;
  judges: Record<JudgeName, JudgeOutcome>;
  /** runs where the sequential judge showed non-inferiority before any rollback */
  sequentialPasses: number;
  /** per run, the highest since-start canary rate (calibrates fixed-calibrated on A/A) */
  maxRates: number[];
}

/** The nominal rate of the stream the non-sequential judges read. */
export function nominalRate(model: TrafficModel, metric: 'errors' | 'latency'): number {
  if (metric === 'errors') return model.errorRate;
  const z =
    (Math.log(LATENCY_BOUNDS_MS[1] as number) - Math.log(model.latency.medianMs)) /
    model.latency.sigma;
  // P(Z > z) by a fine midpoint sum: only used to set the Flagger-like threshold
  let tail = 0;
  const step = 0.001;
  for (let x = z; x < z + 10; x += step) tail += Math.exp(-((x + step / 2) ** 2) / 2) * step;
  return tail / Math.sqrt(2 * Math.PI);
}

export function runConfiguration(config: Configuration): ConfigurationResult {
  const { model, metric, factor } = config;
  const k = model.targetsPerSide;
  const latency = metric === 'latency';
  const reader = latency ? SLOWER_THAN_MIDDLE : ERRORS;
  const judges = Object.fromEntries(
    JUDGES.map((name) => [name, { rollbacks: 0, samples: [] as number[] }]),
  ) as Record<JudgeName, JudgeOutcome>;
  const spec = sequentialSpec(latency);
  const counts = createLookCounts(model);
  const maxRates: number[] = [];
  let sequentialPasses = 0;
  for (let run = 0; run < config.runs; run += 1) {
    const random = createRandom(seedOf(config.seed, model.name, metric, factor, run));
    const draw = drawRun(model, random);
    // the history has a stream of its own, so the stage's looks are the same with or without it
    const historyLooks = config.historyLooks ?? historyLooksOf(model);
    const history =
      historyLooks > 0
        ? historyOf(
            k,
            spec,
            drawHistory(
              model,
              draw,
              historyLooks,
              latency,
              createRandom(seedOf(config.seed, model.name, metric, factor, run, 'history')),
            ),
          )
        : undefined;
    let maxRate = 0;
    let passed = false;
    const active = new Map<JudgeName, Judge>([
      ['fixed-0.05', fixedWindowJudge(k, reader, 0.05)],
      [
        'fixed-calibrated',
        fixedCumulativeJudge(k, reader, config.fixedThreshold, (rate) => {
          if (rate > maxRate) maxRate = rate;
        }),
      ],
      ['flagger-like', flaggerJudge(k, reader, 2 * nominalRate(model, metric))],
      ['kayenta-like', kayentaJudge(k, reader)],
      ['sequential', sequentialJudge(k, spec, () => (passed = true), history)],
    ]);
    if (latency) active.delete('fixed-0.05');
    let canarySamples = 0;
    for (let look = 0; look < model.looks; look += 1) {
      drawLook(
        model,
        draw,
        look,
        latency ? 1 : factor,
        latency ? factor : 1,
        latency,
        random,
        counts,
      );
      for (let i = 0; i < k; i += 1) canarySamples += counts.requests[i] as number;
      for (const [name, judge] of active) {
        if (judge.look(counts)) {
          judges[name].rollbacks += 1;
          judges[name].samples.push(canarySamples);
          if (name === 'sequential' && passed) passed = false;
          active.delete(name);
        }
      }
    }
    for (const [name, judge] of active) {
      if (judge.end()) {
        judges[name].rollbacks += 1;
        judges[name].samples.push(canarySamples);
      }
    }
    if (passed) sequentialPasses += 1;
    maxRates.push(maxRate);
  }
  return {
    model: model.name,
    metric,
    factor,
    runs: config.runs,
    judges,
    sequentialPasses,
    maxRates,
  };
}

/** The threshold at which a fraction `rate` of the A/A runs' highest rates lie above. */
export function calibratedThreshold(maxRates: readonly number[], rate: number): number {
  const sorted = [...maxRates].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.ceil((1 - rate) * sorted.length) - 1);
  return sorted[Math.max(0, index)] as number;
}
