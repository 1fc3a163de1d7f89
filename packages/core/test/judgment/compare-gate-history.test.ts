import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareGate, compareLookDigest, historyPrior } from '../../src/index.ts';
import type {
  ArmCounts,
  CompareGateResult,
  CompareGateSpec,
  CompareGateState,
  CompareHistory,
} from '../../src/index.ts';

const spec: CompareGateSpec = {
  kind: 'compare',
  metric: 'error_rate',
  alpha: 0.01,
  margin: { relative: 0.2 },
  minSamples: 100,
  windowSeconds: 300,
};

/** Targets `${prefix}0…` with `requests` requests each and the given errors, one per target. */
function arm(prefix: string, requests: number, errors: readonly number[]): ArmCounts {
  return Object.fromEntries(errors.map((e, i) => [`${prefix}${i}`, { requests, errors: e }]));
}

function run(
  gate: CompareGateSpec,
  looks: readonly (readonly [ArmCounts, ArmCounts])[],
  history?: CompareHistory,
): CompareGateResult[] {
  let state: CompareGateState | null = null;
  const out: CompareGateResult[] = [];
  for (const [canary, baseline] of looks) {
    const result = compareGate(gate, canary, baseline, state, history);
    state = result.state;
    out.push(result);
  }
  return out;
}

// the canary side holds targets that always fail more than the baseline side's: rates 1.2 % and
// 0.8 % on the canary side, 0.4 % and 0.6 % on the baseline side, before the stage as in it
const canaryRates = [12, 8];
const baselineRates = [4, 6];
const mixedHistory: CompareHistory = {
  canary: arm(
    'c',
    500_000,
    canaryRates.map((r) => r * 500),
  ),
  baseline: arm(
    'b',
    500_000,
    baselineRates.map((r) => r * 500),
  ),
};

/** 40 looks of both sides' targets at `factor` times their rates, `requests` each. */
const mixedLooks = (requests: number, factor: number) =>
  Array.from(
    { length: 40 },
    () =>
      [
        arm(
          'c',
          requests,
          canaryRates.map((r) => factor * r),
        ),
        arm(
          'b',
          requests,
          baselineRates.map((r) => factor * r),
        ),
      ] as const,
  );

describe('compareGate against the targets’ own history', () => {
  it('does not take a persistent difference between the sides’ targets for a regression', () => {
    const looks = mixedLooks(1000, 1);
    const without = run(spec, looks).at(-1) as CompareGateResult;
    const withHistory = run(spec, looks, mixedHistory).at(-1) as CompareGateResult;
    // the mix alone: the canary side fails twice as often as the baseline side
    expect(without.evidence.effect.estimate).toBeCloseTo(2, 1);
    expect(withHistory.verdict).not.toBe('fail');
    expect(withHistory.evidence.effect.estimate).toBeCloseTo(1, 1);
    expect(withHistory.evidence.history).toMatchObject({
      used: true,
      canary: { targets: 2, requests: 1_000_000, events: 10_000, targetsWithHistory: 2 },
      baseline: { targets: 2, requests: 1_000_000, events: 5000, targetsWithHistory: 2 },
    });
    expect(withHistory.evidence.history?.canary.expected).toBeCloseTo(800, -1);
    expect(withHistory.evidence.reasons.join(' ')).toContain("judged against the targets' history");
  });

  it('fails a canary whose targets double their own history even when the baseline side fails more', () => {
    // the mix points the other way: without history the canary side does not even look worse
    const history: CompareHistory = {
      canary: arm('c', 50_000, [100, 150]),
      baseline: arm('b', 50_000, [500, 700]),
    };
    const looks = Array.from(
      { length: 40 },
      () => [arm('c', 1000, [4, 6]), arm('b', 1000, [10, 14])] as const,
    );
    const without = run(spec, looks).at(-1) as CompareGateResult;
    const withHistory = run(spec, looks, history).at(-1) as CompareGateResult;
    expect(without.verdict).not.toBe('fail');
    expect(withHistory.verdict).toBe('fail');
    expect(withHistory.evidence.effect.estimate).toBeCloseTo(2, 0);
    expect(withHistory.evidence.effect.lower as number).toBeGreaterThan(1);
  });

  it('lets a change shared by both sides since the history cancel out (a bad day)', () => {
    // every target fails 1.5 times its history in the stage, on both sides
    const looks = mixedLooks(5000, 7.5);
    const result = run(spec, looks, mixedHistory).at(-1) as CompareGateResult;
    expect(result.verdict).toBe('pass');
    expect(result.evidence.effect.estimate).toBeCloseTo(1, 1);
  });

  it('judges without a history thinner than minSamples, and says so', () => {
    const thin: CompareHistory = { canary: arm('c', 40, [1]), baseline: arm('b', 40, [0]) };
    const looks = Array.from(
      { length: 10 },
      () => [arm('c', 500, [10, 8]), arm('b', 500, [4, 5])] as const,
    );
    const without = run(spec, looks).at(-1) as CompareGateResult;
    const withThin = run(spec, looks, thin).at(-1) as CompareGateResult;
    expect(withThin.verdict).toBe(without.verdict);
    expect(withThin.evidence.estimate).toBe(without.evidence.estimate);
    expect(withThin.evidence.history?.used).toBe(false);
    expect(withThin.evidence.reasons.join(' ')).toContain('history too thin');
  });

  it('expects a target without history of its own at the pooled pre-stage rate', () => {
    const history: CompareHistory = {
      canary: arm('c', 50_000, [250]),
      baseline: arm('b', 50_000, [250, 250]),
    };
    const looks = [[arm('c', 1000, [5, 5]), arm('b', 1000, [5, 5])] as const];
    const result = run({ ...spec, minSamples: 1 }, looks, history).at(-1) as CompareGateResult;
    expect(result.evidence.history?.canary).toMatchObject({ targets: 1, targetsWithHistory: 1 });
    expect(result.evidence.history?.canary.expected).toBeCloseTo(10, 1);
  });

  it('measures a latency gate against history bound by bound', () => {
    const latency: CompareGateSpec = {
      ...spec,
      metric: 'latency',
      latencyBoundsMs: [100, 250],
    };
    const row = (requests: number, slower: number[]): ArmCounts[string] => ({ requests, slower });
    const history: CompareHistory = {
      canary: { c0: row(50_000, [10_000, 1000]), c1: row(50_000, [5000, 500]) },
      baseline: { b0: row(50_000, [2500, 250]), b1: row(50_000, [5000, 500]) },
    };
    const looks = Array.from(
      { length: 30 },
      () =>
        [
          { c0: row(1000, [200, 40]), c1: row(1000, [100, 20]) },
          { b0: row(1000, [50, 5]), b1: row(1000, [100, 10]) },
        ] as const,
    );
    const result = run(latency, looks, history).at(-1) as CompareGateResult;
    // the 100 ms share is what each target always had; the 250 ms share doubled on the canary
    expect(result.verdict).toBe('fail');
    expect(result.evidence.streams[0]?.estimate as number).toBeCloseTo(0, 1);
    expect(Math.exp(result.evidence.streams[1]?.estimate as number)).toBeCloseTo(2, 0);
    expect(result.evidence.streams[1]?.history?.used).toBe(true);
  });

  it('judges an absolute margin as the canary’s rate over what its own targets would show', () => {
    const absolute: CompareGateSpec = { ...spec, margin: { absolute: 0.002 } };
    const looks = mixedLooks(5000, 5);
    const result = run(absolute, looks, mixedHistory).at(-1) as CompareGateResult;
    expect(result.verdict).toBe('pass');
    expect(result.evidence.estimate as number).toBeCloseTo(0, 3);
  });
});

describe('historyPrior', () => {
  it('finds no spread between targets whose histories differ by chance alone', () => {
    const alike = { a: [100_000, 1000], b: [100_000, 1000], c: [50_000, 500] };
    const prior = historyPrior([alike], 0, 1);
    expect(prior.between).toBe(0);
    expect(prior.weight).toBe(Infinity);
    expect(prior.rate).toBeCloseTo(0.01, 4);
  });

  it('measures how far apart targets are when they are', () => {
    const apart = { a: [100_000, 500], b: [100_000, 1500], c: [100_000, 1000] };
    const prior = historyPrior([apart], 0, 1);
    // rates 0.5 %, 1.5 %, 1 %: a spread of about 0.005 (the chance part taken out)
    expect(Math.sqrt(prior.between)).toBeCloseTo(0.005, 3);
    expect(prior.weight).toBeCloseTo(prior.rate / prior.between, 6);
  });
});

// The digests of looks without history, as recorded before history existed (the same inputs
// through the previous compareGate): a gate without history replays to the same digest.
const RECORDED = [
  'sha256:cda699c22796634a7bced6ebab46142bca88c1d004993286556273d7b344ba3e',
  'sha256:4bb0927e610fee951c67b65cd41aef3f27ee7ac20af954e18b39a27cf64c00d3',
  'sha256:8738a143e1006bc03eb8230ba361677535685516cd33861103922d793e855cb7',
  'sha256:0fd7d4f82d25de9bce34dc140f687f37660a9b5db13fdced71f38a286a189f7c',
  'sha256:3e9da4c83c5cc0e2e235fa1ba8f4016b5cfff310c69fd0e825bfea3556067baa',
  'sha256:8ba7eb5cf2e818cd701c14210f16ae4fc768c8cdbe7fdeed054219a3e3aad43d',
];

describe('compareGate without history', () => {
  it('replays looks recorded before history existed to the same verdicts and digests', () => {
    let state: CompareGateState | null = null;
    const digests: string[] = [];
    const verdicts: string[] = [];
    const counts = (i: number) => ({ requests: 300 + 17 * i, errors: i % 2 === 0 ? 12 : 6 });
    for (let look = 0; look < 6; look += 1) {
      const canary: Record<string, { requests: number; errors: number }> = {};
      const baseline: Record<string, { requests: number; errors: number }> = {};
      for (let t = 0; t < 4; t += 1) {
        canary[`c${t}`] = counts(2 * (look * 4 + t) + 2);
        baseline[`b${t}`] = counts(2 * (look * 4 + t) + 1);
      }
      const result = compareGate(spec, canary, baseline, state);
      digests.push(compareLookDigest(spec, canary, baseline, state, result));
      verdicts.push(result.verdict);
      state = result.state;
    }
    expect(verdicts).toEqual(['inconclusive', 'fail', 'fail', 'fail', 'fail', 'fail']);
    expect(digests).toEqual(RECORDED);
  });
});

const counts = fc.record({
  requests: fc.integer({ min: 0, max: 400 }),
  errors: fc.integer({ min: 0, max: 40 }),
});
const side = (prefix: string, max: number) =>
  fc
    .array(counts, { minLength: 1, maxLength: max })
    .map((rows) =>
      Object.fromEntries(
        rows.map((r, i) => [`${prefix}${i}`, { ...r, errors: Math.min(r.errors, r.requests) }]),
      ),
    );
const looks = fc.array(fc.tuple(side('c', 4), side('b', 4)), { minLength: 1, maxLength: 8 });
const histories = fc.record({
  canary: side('c', 4).map((a) =>
    Object.fromEntries(Object.entries(a).map(([k, v]) => [k, { ...v, requests: 50 * v.requests }])),
  ),
  baseline: side('b', 4).map((a) =>
    Object.fromEntries(Object.entries(a).map(([k, v]) => [k, { ...v, requests: 50 * v.requests }])),
  ),
});
const gates = fc.record({
  kind: fc.constant('compare' as const),
  metric: fc.constant('error_rate' as const),
  alpha: fc.double({ min: 0.001, max: 0.2, noNaN: true }),
  margin: fc.oneof(
    fc.double({ min: 0.01, max: 1, noNaN: true }).map((relative) => ({ relative })),
    fc.double({ min: 0.001, max: 0.1, noNaN: true }).map((absolute) => ({ absolute })),
  ),
  minSamples: fc.integer({ min: 1, max: 2000 }),
  windowSeconds: fc.constant(300),
});

describe('compareGate with history, properties', () => {
  it('never passes, nor fails, while either side has fewer than minSamples samples', () => {
    fc.assert(
      fc.property(gates, looks, histories, (gate, sequence, history) => {
        for (const result of run(gate, sequence, history)) {
          const { canary, baseline } = result.evidence.samples;
          if (Math.min(canary.requests, baseline.requests) < gate.minSamples) {
            expect(result.verdict).toBe('inconclusive');
          }
        }
      }),
    );
  });

  it('does not fail both orders when both sides turn far worse than a history without errors', () => {
    // found by the property below: with an absolute margin the canary's expectation lacked the
    // ½ event its baseline had, so a change shared by both sides showed on both
    const gate: CompareGateSpec = {
      ...spec,
      alpha: 0.001,
      margin: { absolute: 0.0076 },
      minSamples: 1,
    };
    const sequence = [
      [{ c0: { requests: 56, errors: 21 } }, { b0: { requests: 0, errors: 0 } }],
      [{ c0: { requests: 294, errors: 5 } }, { b0: { requests: 393, errors: 23 } }],
    ] as const;
    const history: CompareHistory = {
      canary: { c0: { requests: 6600, errors: 0 }, c1: { requests: 50, errors: 1 } },
      baseline: { b0: { requests: 17_850, errors: 0 } },
    };
    const straight = run(gate, sequence, history);
    const swapped = run(
      gate,
      sequence.map(([c, b]) => [b, c] as const),
      { canary: history.baseline, baseline: history.canary },
    );
    straight.forEach((result, i) => {
      expect(result.verdict === 'fail' && swapped[i]?.verdict === 'fail').toBe(false);
    });
  });

  // A fail is sticky: one order may fail on the early looks and the other on later ones when the
  // sides move apart from their histories at different times; what may never happen is one look's
  // evidence showing harm in both orders.
  it('swapping canary and baseline (and their histories) turns the estimate and never fails both orders on one look', () => {
    fc.assert(
      fc.property(gates, looks, histories, (gate, sequence, history) => {
        const straight = run(gate, sequence, history);
        const swapped = run(
          gate,
          sequence.map(([c, b]) => [b, c] as const),
          { canary: history.baseline, baseline: history.canary },
        );
        straight.forEach((result, i) => {
          const mirror = swapped[i] as CompareGateResult;
          const failsNow = (r: CompareGateResult, before: CompareGateResult | undefined) =>
            r.verdict === 'fail' && before?.verdict !== 'fail';
          expect(failsNow(result, straight[i - 1]) && failsNow(mirror, swapped[i - 1])).toBe(false);
          const [a, b] = [result.evidence.estimate, mirror.evidence.estimate];
          if (a !== null && b !== null && Math.abs(a) > 1e-12 && Math.abs(b) > 1e-12) {
            expect(Math.sign(a)).toBe(-Math.sign(b));
          }
          if ('relative' in gate.margin && result.evidence.estimate !== null) {
            expect(mirror.evidence.estimate).toBeCloseTo(-result.evidence.estimate, 9);
          }
        });
      }),
    );
  });

  it('replaying a recorded look with its history from JSON gives the same digest', () => {
    fc.assert(
      fc.property(gates, looks, histories, (gate, sequence, history) => {
        let state: CompareGateState | null = null;
        for (const [canary, baseline] of sequence) {
          const result = compareGate(gate, canary, baseline, state, history);
          const digest = compareLookDigest(gate, canary, baseline, state, result, history);
          const recorded = JSON.parse(
            JSON.stringify({ gate, canary, baseline, state, history }),
          ) as {
            gate: CompareGateSpec;
            canary: ArmCounts;
            baseline: ArmCounts;
            state: CompareGateState | null;
            history: CompareHistory;
          };
          const replayed = compareGate(
            recorded.gate,
            recorded.canary,
            recorded.baseline,
            recorded.state,
            recorded.history,
          );
          expect(
            compareLookDigest(
              recorded.gate,
              recorded.canary,
              recorded.baseline,
              recorded.state,
              replayed,
              recorded.history,
            ),
          ).toBe(digest);
          state = result.state;
        }
      }),
    );
  });
});
