import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BUILTIN_PLANS,
  formatDuration,
  parseDuration,
  progressDeadlineOf,
  validatePlan,
} from '../../src/release/index.ts';
import type { HealthGateSpec } from '../../src/release/health-gate.ts';
import { simplePlan } from './fixtures.ts';

function problemsOf(value: unknown, options: { cohorts?: string[] } = {}): string[] {
  try {
    validatePlan(value, options);
    return [];
  } catch (error) {
    expect((error as { code: string }).code).toBe('PLAN_INVALID');
    return (error as { details: { problems: string[] } }).details.problems;
  }
}

describe('built-in plans', () => {
  it('canary goes 10% for 10m, 50% for 30m, then 100% for 30m with the default gates', () => {
    const { canary } = BUILTIN_PLANS;
    expect(canary.stages.map((s) => [s.percent, s.soakSeconds])).toEqual([
      [10, 600],
      [50, 1800],
      [100, 1800],
    ]);
    for (const stage of canary.stages) {
      expect(stage.gates).toEqual([
        expect.objectContaining({
          metric: 'error_rate',
          op: '<=',
          threshold: 0.05,
          windowSeconds: 300,
        }),
        expect.objectContaining({ metric: 'activation_success_rate', op: '>=', threshold: 0.95 }),
      ]);
      expect(
        (stage.gates as HealthGateSpec[]).every((g) => g.minTargets >= 1 && g.minSamples >= 1),
      ).toBe(true);
    }
  });

  it('all-at-once is one 100% stage soaking 10m, and both plans validate', () => {
    expect(BUILTIN_PLANS['all-at-once'].stages).toHaveLength(1);
    expect(BUILTIN_PLANS['all-at-once'].stages[0]).toMatchObject({
      percent: 100,
      soakSeconds: 600,
    });
    expect(validatePlan(BUILTIN_PLANS.canary)).toEqual(BUILTIN_PLANS.canary);
    expect(validatePlan(BUILTIN_PLANS['all-at-once'])).toEqual(BUILTIN_PLANS['all-at-once']);
  });

  it('is frozen so no caller changes it for everyone', () => {
    expect(() => {
      (BUILTIN_PLANS.canary.stages[0] as { percent: number }).percent = 90;
    }).toThrow(TypeError);
  });
});

describe('validatePlan', () => {
  it('accepts a plan whose stage cohort is a cohort of the channel', () => {
    const plan = simplePlan([{ cohort: 'eu' }, {}]);
    expect(validatePlan(plan, { cohorts: ['eu'] })).toEqual(plan);
  });

  it('collects every problem of a bad plan', () => {
    const problems = problemsOf(
      {
        name: 'bad plan',
        stages: [
          { name: 'a', percent: 50, soakSeconds: 60, gates: [] },
          {
            name: 'a',
            percent: 10,
            soakSeconds: -1,
            gates: [
              {
                metric: 'cpu',
                op: '=',
                threshold: 'x',
                windowSeconds: 0,
                minTargets: 0,
                minSamples: 0,
              },
            ],
            cohort: 'nope',
            approvals: 1.5,
            progressDeadlineSeconds: 10,
          },
          { name: 'c', percent: 0, soakSeconds: 60, gates: [], extra: 1 },
        ],
      },
      { cohorts: ['eu'] },
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'plan.name must be 1-63 characters of [A-Za-z0-9_.-]',
        'plan.stages[1].name "a" is used by an earlier stage',
        "plan.stages[1].percent 10 is below the previous stage's 50",
        'plan.stages[1].cohort "nope" is not a cohort of the channel',
        'plan.stages[1].soakSeconds must be an integer ≥ 0',
        'plan.stages[1].approvals must be an integer ≥ 0',
        'plan.stages[2].percent must be a number in (0, 100]',
        'plan.stages[2].extra is not a stage field',
        'the last stage must reach 100% of the channel (percent 100, no cohort)',
      ]),
    );
    expect(problems.filter((p) => p.startsWith('plan.stages[1].gates[0]'))).toHaveLength(6);
  });

  it('refuses a deadline shorter than the soak and a plan with no stages', () => {
    expect(problemsOf(simplePlan([{ soakSeconds: 600, progressDeadlineSeconds: 300 }]))).toEqual([
      'plan.stages[0].progressDeadlineSeconds must be at least soakSeconds',
    ]);
    expect(problemsOf({ name: 'empty', stages: [] })).toEqual([
      'plan.stages must be a non-empty array',
    ]);
  });

  it('defaults the progress deadline to twice the soak plus ten minutes', () => {
    expect(progressDeadlineOf({ name: 's', percent: 10, soakSeconds: 600, gates: [] })).toBe(1800);
    expect(
      progressDeadlineOf({
        name: 's',
        percent: 10,
        soakSeconds: 600,
        gates: [],
        progressDeadlineSeconds: 900,
      }),
    ).toBe(900);
  });
});

describe('durations', () => {
  it.each([
    ['30s', 30],
    ['10m', 600],
    ['24h', 86_400],
    ['7d', 604_800],
    ['1h30m', 5400],
    ['90', 90],
  ])('reads %s as %i seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each(['', '10x', '-5m', 'm', '1.5h', '30s10m'])('refuses %j with BAD_REQUEST', (text) => {
    expect(() => parseDuration(text)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });

  it('formats seconds so that parsing gives them back', () => {
    fc.assert(
      fc.property(fc.nat({ max: 10_000_000 }), (s) => parseDuration(formatDuration(s)) === s),
    );
    expect(formatDuration(5400)).toBe('1h30m');
  });
});
