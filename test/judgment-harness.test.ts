/**
 * A small, fixed-seed run of the judgment harness (bench/judgment/) as a test of the statistics:
 * the rates must fall within the stated bounds. Nothing here measures time.
 */
import { describe, expect, it } from 'vitest';
import { wilson } from '../bench/judgment/report.ts';
import { calibratedThreshold, runConfiguration } from '../bench/judgment/simulate.ts';
import { TRAFFIC_MODELS } from '../bench/judgment/traffic-models.ts';
import type { TrafficModel } from '../bench/judgment/traffic-models.ts';

function model(name: string): TrafficModel {
  const found = TRAFFIC_MODELS.find((m) => m.name === name);
  if (found === undefined) throw new Error(`no model ${name}`);
  return found;
}

describe('the judgment harness, small and seeded', () => {
  for (const name of ['heterogeneous', 'overdispersed']) {
    it(`keeps the sequential judge under 1 % false rollbacks in A/A runs of the ${name} model`, () => {
      const r = runConfiguration({
        model: model(name),
        metric: 'errors',
        factor: 1,
        runs: 400,
        seed: 'ci',
        fixedThreshold: Infinity,
      });
      const rollbacks = r.judges.sequential.rollbacks;
      expect(rollbacks / r.runs).toBeLessThanOrEqual(0.01);
      expect(wilson(rollbacks, r.runs)[1]).toBeLessThan(0.03);
    });
  }

  it('detects a doubled error rate in at least 95 % of runs, more often than a calibrated fixed threshold', () => {
    const m = model('heterogeneous');
    const calibration = runConfiguration({
      model: m,
      metric: 'errors',
      factor: 1,
      runs: 400,
      seed: 'ci-calibration',
      fixedThreshold: Infinity,
    });
    const threshold = calibratedThreshold(calibration.maxRates, 0.01);
    const r = runConfiguration({
      model: m,
      metric: 'errors',
      factor: 2,
      runs: 150,
      seed: 'ci',
      fixedThreshold: threshold,
    });
    expect(r.judges.sequential.rollbacks / r.runs).toBeGreaterThanOrEqual(0.95);
    expect(r.judges.sequential.rollbacks).toBeGreaterThan(r.judges['fixed-calibrated'].rollbacks);
  });

  it("detects a doubled error rate in at least 95 % of bursty runs over the model's four-day stage", () => {
    const r = runConfiguration({
      model: model('zero-inflated'),
      metric: 'errors',
      factor: 2,
      runs: 100,
      seed: 'ci',
      fixedThreshold: Infinity,
    });
    expect(r.judges.sequential.rollbacks / r.runs).toBeGreaterThanOrEqual(0.95);
  });

  // the stages are cut here to keep the test small (the low-traffic model's from two weeks to
  // 3.5 days, the zero-inflated model's from four days to one); docs/judgment.md has the figures
  // of the whole stages
  for (const [name, looks] of [
    ['low-traffic', 1008],
    ['zero-inflated', 288],
  ] as const) {
    it(`rolls back fewer A/A runs than the Mann-Whitney judge on the ${name} model`, () => {
      const r = runConfiguration({
        model: { ...model(name), looks },
        metric: 'errors',
        factor: 1,
        runs: 400,
        seed: 'ci',
        fixedThreshold: Infinity,
      });
      expect(r.judges.sequential.rollbacks).toBeLessThan(r.judges['kayenta-like'].rollbacks);
      expect(r.judges.sequential.rollbacks / r.runs).toBeLessThanOrEqual(0.01);
    });
  }

  // targets far apart: without their history the two sides' mix of targets differs in every
  // A/A run, which capped detection at about 70 % (docs/adr/0016); against each target's own
  // history the mix drops out
  it("detects a doubled error rate in at least 95 % of runs of targets far apart, against the targets' history", () => {
    const m = model('heterogeneous-strong');
    const aa = runConfiguration({
      model: m,
      metric: 'errors',
      factor: 1,
      runs: 400,
      seed: 'ci',
      fixedThreshold: Infinity,
    });
    expect(aa.judges.sequential.rollbacks / aa.runs).toBeLessThanOrEqual(0.01);
    const withHistory = runConfiguration({
      model: m,
      metric: 'errors',
      factor: 2,
      runs: 150,
      seed: 'ci',
      fixedThreshold: Infinity,
    });
    const without = runConfiguration({
      model: m,
      metric: 'errors',
      factor: 2,
      runs: 150,
      seed: 'ci',
      fixedThreshold: Infinity,
      historyLooks: 0,
    });
    expect(withHistory.judges.sequential.rollbacks / withHistory.runs).toBeGreaterThanOrEqual(0.95);
    expect(withHistory.judges.sequential.rollbacks).toBeGreaterThan(
      without.judges.sequential.rollbacks,
    );
    // the other judges read the stage only: the same looks, the same verdicts
    expect(withHistory.judges['kayenta-like']).toEqual(without.judges['kayenta-like']);
  });

  it('gives the Wilson interval of a known case', () => {
    const [lo, hi] = wilson(10, 1000);
    expect(lo).toBeCloseTo(0.00544, 4);
    expect(hi).toBeCloseTo(0.01831, 4);
  });
});
