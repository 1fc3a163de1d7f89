import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluateHealthGate } from '../../src/release/index.ts';
import type { HealthGateSpec, TargetReport } from '../../src/release/index.ts';
import { NEW, OLD, at, ids, reports } from './fixtures.ts';

const errorRate: HealthGateSpec = {
  metric: 'error_rate',
  op: '<=',
  threshold: 0.05,
  windowSeconds: 300,
  minTargets: 2,
  minSamples: 100,
};
const now = at(1000);

describe('evaluateHealthGate', () => {
  it('measures error_rate as Σerrors / Σrequests of the reports running the pack', () => {
    const input = [
      ...reports(['a'], at(900), { requests: 100, errorRate: 0.02 }),
      ...reports(['b'], at(950), { requests: 300, errorRate: 0.1 }),
      ...reports(['c'], at(950), { activePack: OLD, requests: 1000, errorRate: 0.5 }),
    ];
    const result = evaluateHealthGate(errorRate, input, now, { pack: NEW });
    expect(result).toMatchObject({
      verdict: 'fail',
      measured: 32 / 400,
      targets: 2,
      samples: 400,
      threshold: 0.05,
      op: '<=',
    });
    const healthy = evaluateHealthGate(
      errorRate,
      reports(['a', 'b'], at(990), { errorRate: 0.01 }),
      now,
      { pack: NEW },
    );
    expect(healthy).toMatchObject({ verdict: 'pass', measured: 0.01, samples: 200 });
  });

  it('reads only reports with now − window ≤ at ≤ now', () => {
    const input = [
      ...reports(['a'], at(700), { errorRate: 0.5 }),
      ...reports(['b'], at(699), { errorRate: 1 }),
      ...reports(['c'], at(1001), { errorRate: 1 }),
      ...reports(['d'], now, { errorRate: 0 }),
    ];
    const result = evaluateHealthGate({ ...errorRate, minTargets: 1 }, input, now, { pack: NEW });
    expect(result).toMatchObject({ measured: 0.25, targets: 2, samples: 200 });
  });

  it('is inconclusive, never pass, with too few targets or samples', () => {
    const few = evaluateHealthGate(errorRate, reports(['a'], now), now, { pack: NEW });
    expect(few.verdict).toBe('inconclusive');
    expect(few.reasons).toContain('1 target(s) reported, 2 needed');
    const thin = evaluateHealthGate(errorRate, reports(['a', 'b'], now, { requests: 10 }), now, {
      pack: NEW,
    });
    expect(thin.verdict).toBe('inconclusive');
    expect(thin.reasons).toContain('20 sample(s), 100 needed');
    const none = evaluateHealthGate(errorRate, [], now, { pack: NEW });
    expect(none).toMatchObject({ verdict: 'inconclusive', measured: null, targets: 0, samples: 0 });
  });

  it('never passes when fewer distinct targets report than minTargets, whatever they report', () => {
    const report = fc.record({
      targetId: fc.constantFrom('a', 'b', 'c'),
      at: fc.integer({ min: 600, max: 1000 }).map(at),
      activePack: fc.constantFrom(NEW, OLD, null),
      health: fc.record({ requests: fc.nat(1000), errors: fc.nat(1000) }),
    });
    fc.assert(
      fc.property(fc.array(report), fc.integer({ min: 4, max: 10 }), (input, minTargets) => {
        const spec = { ...errorRate, minTargets, minSamples: 1 };
        return evaluateHealthGate(spec, input, now, { pack: NEW }).verdict !== 'pass';
      }),
    );
  });

  it('ignores reports with impossible counters and says so', () => {
    const input: TargetReport[] = [
      ...reports(['a', 'b'], now),
      { targetId: 'c', at: now, activePack: NEW, health: { requests: 10, errors: 20 } },
      { targetId: 'd', at: now, activePack: NEW, health: { requests: -5, errors: 0 } },
    ];
    const result = evaluateHealthGate(errorRate, input, now, { pack: NEW });
    expect(result).toMatchObject({ verdict: 'pass', samples: 200, targets: 2 });
    expect(result.reasons[0]).toBe('2 report(s) with invalid values ignored');
  });

  it('counts each activation attempt of the pack once, also from targets that stayed on the old pack', () => {
    const spec: HealthGateSpec = {
      metric: 'activation_success_rate',
      op: '>=',
      threshold: 0.95,
      windowSeconds: 300,
      minTargets: 1,
      minSamples: 1,
    };
    const attempt = (
      targetId: string,
      result: 'ok' | 'failed',
      when: string,
      activePack: string,
    ): TargetReport => ({
      targetId,
      at: when,
      activePack,
      lastAttempt: { kind: 'activate', pack: NEW, result, at: at(800) },
    });
    const input = [
      attempt('a', 'ok', at(900), NEW),
      attempt('a', 'ok', at(960), NEW),
      attempt('b', 'ok', at(960), NEW),
      attempt('c', 'failed', at(960), OLD),
      {
        targetId: 'd',
        at: at(960),
        activePack: OLD,
        lastAttempt: {
          kind: 'activate' as const,
          pack: OLD,
          result: 'failed' as const,
          at: at(800),
        },
      },
    ];
    const result = evaluateHealthGate(spec, input, now, { pack: NEW });
    expect(result).toMatchObject({ verdict: 'fail', measured: 2 / 3, samples: 3, targets: 3 });
  });

  it('takes the worst target latency and the mean of a signal', () => {
    const base = { windowSeconds: 300, minTargets: 1, minSamples: 1 };
    const input: TargetReport[] = [
      {
        targetId: 'a',
        at: now,
        activePack: NEW,
        health: { latencyP95Ms: 120, latencyP99Ms: 300, signals: { hit_ratio: 0.9 } },
      },
      {
        targetId: 'b',
        at: now,
        activePack: NEW,
        health: { latencyP95Ms: 180, signals: { hit_ratio: 0.7 } },
      },
      {
        targetId: 'c',
        at: now,
        activePack: OLD,
        health: { latencyP95Ms: 999, signals: { hit_ratio: 0 } },
      },
    ];
    expect(
      evaluateHealthGate(
        { ...base, metric: 'latency_p95_ms', op: '<', threshold: 200 },
        input,
        now,
        { pack: NEW },
      ),
    ).toMatchObject({ verdict: 'pass', measured: 180, samples: 2 });
    expect(
      evaluateHealthGate(
        { ...base, metric: 'latency_p99_ms', op: '<', threshold: 200 },
        input,
        now,
        { pack: NEW },
      ),
    ).toMatchObject({ verdict: 'fail', measured: 300, samples: 1 });
    const signal = evaluateHealthGate(
      { ...base, metric: 'signal:hit_ratio', op: '>', threshold: 0.85 },
      input,
      now,
      { pack: NEW },
    );
    expect(signal.measured).toBeCloseTo(0.8);
    expect(signal.verdict).toBe('fail');
  });

  it('compares with each operator, strict and not', () => {
    const input = reports(ids(2), now, { errorRate: 0.05 });
    const verdict = (op: HealthGateSpec['op']) =>
      evaluateHealthGate({ ...errorRate, op }, input, now, { pack: NEW }).verdict;
    expect([verdict('<='), verdict('<'), verdict('>='), verdict('>')]).toEqual([
      'pass',
      'fail',
      'pass',
      'fail',
    ]);
  });
});
