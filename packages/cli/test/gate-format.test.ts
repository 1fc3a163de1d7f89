import { describe, expect, it } from 'vitest';
import { compareGate } from '@lockgate/core';
import type { ArmCounts, CompareGateSpec, HealthGateResult } from '@lockgate/core';
import { formatGateReport } from '../src/commands/gate-command.ts';
import { formatGateResult, formatGateSpec, formatReleaseWhy } from '../src/release-format.ts';
import type { ReleaseWhyView } from '@lockgate/api';

const spec: CompareGateSpec = {
  kind: 'compare',
  metric: 'error_rate',
  alpha: 0.05,
  margin: { relative: 0.2 },
  minSamples: 100,
  windowSeconds: 60,
};

function arm(prefix: string, requests: number, errors: number): ArmCounts {
  return Object.fromEntries(
    Array.from({ length: 5 }, (_, i) => [`${prefix}${i}`, { requests, errors }]),
  );
}

function compareResult(
  requests: number,
  canaryErrors: number,
  baselineErrors: number,
  looks: number,
): HealthGateResult {
  let state = null;
  let result = compareGate(spec, {}, {}, null);
  for (let i = 0; i < looks; i += 1) {
    const canary = arm('c', requests, canaryErrors);
    result = compareGate(spec, canary, arm('b', requests, baselineErrors), state);
    state = result.state;
  }
  return {
    metric: 'error_rate',
    kind: 'compare',
    gate: 'canary#0',
    mode: 'enforce',
    onFail: 'rollback',
    verdict: result.verdict,
    measured: result.evidence.effect.estimate,
    threshold: 1.2,
    op: '<=',
    targets: 5,
    samples: result.evidence.samples.canary.requests,
    reasons: result.evidence.reasons,
    compare: {
      metric: 'error_rate',
      evidence: result.evidence,
      baseline: { members: 5, reporting: 5, pack: null },
      looks,
      lookSeconds: 60,
      digest: null,
    },
  };
}

const shadow: HealthGateResult = {
  metric: 'error_rate',
  gate: 'canary#1',
  mode: 'shadow',
  onFail: 'pause',
  verdict: 'fail',
  measured: 0.05,
  threshold: 0.01,
  op: '<=',
  targets: 5,
  samples: 1000,
  reasons: [],
};

describe('compare and shadow gates in words', () => {
  it('says the effect, its interval, the p-value and the verdict of a compare gate', () => {
    expect(formatGateResult(compareResult(200, 20, 10, 10))).toMatch(
      /^compare error rate 2x baseline \(95% CI [\d.]+x–[\d.]+x\), p (=|<) [\d.]+: regression \(canary 5 target\(s\), baseline 5\/5 reporting\)$/,
    );
  });

  it('marks a shadow gate and what it would do beside the enforcing ones in release status', () => {
    const why = {
      at: '2026-11-23T10:00:00.000Z',
      blockers: [],
      freeze: null,
      stage: null,
      gates: [compareResult(2000, 100, 100, 10), shadow],
      refusals: { targets: 0, groups: [] },
      approvals: null,
      verification: null,
    } as unknown as ReleaseWhyView;
    const lines = formatReleaseWhy(why);
    expect(lines[0]).toBe('gates:');
    expect(lines[1]).toMatch(
      /^ {2}pass {9}compare error rate 1x baseline .*: no harm beyond 20% worse/,
    );
    expect(lines[2]).toBe(
      '  fail         shadow (pauses) error_rate 0.050 > 0.010 (targets 5, samples 1000)',
    );
  });

  it('describes a compare gate of a plan with its α, margin and policy', () => {
    expect(formatGateSpec({ ...spec, mode: 'shadow' })).toBe(
      'compare error_rate against the baseline over 1m looks (α 0.05, margin 20% worse, samples ≥ 100 each side) [shadow]',
    );
  });
});

describe('gate report', () => {
  it('says for each shadow gate how often it agreed, with false alarms and misses', () => {
    expect(
      formatGateReport({
        env: 'prod-eu',
        channel: 'stable',
        releases: { completed: 3, rolledBack: 1 },
        gates: [
          {
            stage: 'canary',
            gate: 'error_rate <= 0.01 over 300s',
            onFail: 'pause',
            releases: 4,
            agreed: 3,
            falseAlarms: 1,
            missed: 0,
            agreement: 0.75,
          },
        ],
      }),
    ).toBe(
      [
        'shadow gates of prod-eu/stable: 3 release(s) completed, 1 rolled back',
        '  canary: error_rate <= 0.01 over 300s (would pause)',
        '    agreed with the outcome in 3 of 4 release(s) (75%): 1 false alarm(s) (failed, yet the release completed), 0 miss(es) (passed, yet it was rolled back)',
      ].join('\n'),
    );
  });
});
