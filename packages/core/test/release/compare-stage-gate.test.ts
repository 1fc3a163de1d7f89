import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareGate, compareGateProblems, compareLookDigest } from '../../src/judgment/index.ts';
import {
  decide,
  evaluateCompareStageGate,
  evaluateStageBaseline,
  evaluateStageGates,
  inPercent,
  planProblems,
  reachPercent,
} from '../../src/release/index.ts';
import type {
  CompareGateRecord,
  CompareLook,
  CompareStageGate,
  HealthGateResult,
  Plan,
  ReleaseContext,
  ReleaseState,
  Stage,
  StageGate,
  TargetReport,
} from '../../src/release/index.ts';
import { NEW, OLD, at, channel, context, ids, release } from './fixtures.ts';

const compare: StageGate = {
  kind: 'compare',
  metric: 'error_rate',
  alpha: 0.01,
  margin: { relative: 0.2 },
  minSamples: 500,
  windowSeconds: 60,
};

function comparePlan(stage: Partial<Stage> = {}, gates: StageGate[] = [compare]): Plan {
  return {
    name: 'judged',
    stages: [
      { name: 'canary', percent: 20, soakSeconds: 1800, baseline: {}, gates, ...stage },
      { name: 'all', percent: 100, soakSeconds: 600, gates: [] },
    ],
  };
}

const TARGETS = ids(40);

/** The canary of stage 0 as setRollout reaches it. */
function canaryOf(rel: ReleaseState, targets = TARGETS): string[] {
  const stage = rel.plan.stages[rel.stageIndex] as Stage;
  const percent = reachPercent(rel.id, stage.percent, targets);
  return targets.filter((id) => inPercent(rel.id, id, percent));
}

/** One report per target per minute up to `minutes`, canary on NEW, the rest on OLD. */
function traffic(
  rel: ReleaseState,
  minutes: number,
  rates: { canary: number; baseline: number; requests?: number },
): TargetReport[] {
  const canary = new Set(canaryOf(rel));
  const requests = rates.requests ?? 1000;
  const out: TargetReport[] = [];
  for (let m = 0; m < minutes; m += 1) {
    for (const targetId of TARGETS) {
      const inCanary = canary.has(targetId);
      const rate = inCanary ? rates.canary : rates.baseline;
      out.push({
        targetId,
        at: at(30 + 60 * m),
        activePack: inCanary ? NEW : OLD,
        health: { requests, errors: Math.round(requests * rate) },
      });
    }
  }
  return out;
}

function judgedContext(
  rel: ReleaseState,
  minutes: number,
  rates: { canary: number; baseline: number },
): ReleaseContext {
  return context(rel, {
    reports: traffic(rel, minutes, rates),
    stageTargets: canaryOf(rel),
    targets: TARGETS.map((id) => ({ id, labels: {} })),
  });
}

function compareRecord(gate: HealthGateResult | undefined): CompareGateRecord {
  if (gate?.compare === undefined) throw new Error('not a compare gate result');
  return gate.compare;
}

describe('plans with baselines and gate policies', () => {
  it('accepts a compare gate on a stage with a baseline, with mode and onFail', () => {
    const plan = comparePlan({ endSoakOnPass: true }, [
      { ...compare, mode: 'shadow', onFail: 'pause' },
      {
        metric: 'error_rate',
        op: '<=',
        threshold: 0.05,
        windowSeconds: 300,
        minTargets: 1,
        minSamples: 10,
        mode: 'enforce',
        onFail: 'rollback',
      },
    ]);
    expect(planProblems(plan)).toEqual([]);
  });

  it('names every problem of baselines, compare gates and policies', () => {
    const plan = {
      name: 'bad',
      stages: [
        { name: 'a', percent: 20, soakSeconds: 60, gates: [compare] },
        {
          name: 'b',
          percent: 60,
          soakSeconds: 60,
          baseline: { percent: 50, count: 3 },
          endSoakOnPass: 'yes',
          gates: [{ ...compare, mode: 'loud', onFail: 'explode' }],
        },
        { name: 'c', percent: 100, soakSeconds: 60, baseline: {}, gates: [] },
      ],
    };
    expect(planProblems(plan)).toEqual([
      'plan.stages[0] has a compare gate and no baseline to compare with',
      'plan.stages[1].gates[0].mode must be one of enforce, shadow',
      'plan.stages[1].gates[0].onFail must be one of rollback, pause',
      'plan.stages[1].baseline declares either count or percent, not both',
      "plan.stages[1].baseline.percent 50 and the stage's 60 exceed 100",
      'plan.stages[1].endSoakOnPass must be true or false',
      'plan.stages[2].baseline needs a stage below 100% or with a cohort: a baseline is kept outside the canary',
    ]);
  });
});

describe('stage baselines', () => {
  it('never holds a target of the canary or a pinned one, and is as large as the canary unless declared', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 120 }),
        fc.double({ min: 0.5, max: 100, noNaN: true }),
        fc.boolean(),
        fc.oneof(
          fc.constant({}),
          fc.record({ count: fc.integer({ min: 1, max: 50 }) }),
          fc.record({ percent: fc.double({ min: 0.5, max: 99, noNaN: true }) }),
        ),
        fc.boolean(),
        (size, drawn, withCohort, drawnSpec, withPin) => {
          const percent = withCohort ? drawn : Math.min(drawn, 99);
          // without a cohort the stage and its baseline share the channel's 100%
          const spec =
            'percent' in drawnSpec && !withCohort
              ? { percent: Math.min(drawnSpec.percent, 99.99 - percent) }
              : drawnSpec;
          const targets = ids(size).map((id, i) => ({
            id,
            labels: { ring: i % 3 === 0 ? 'a' : 'b' },
          }));
          const plan: Plan = {
            name: 'p',
            stages: [
              {
                name: 's',
                percent,
                ...(withCohort ? { cohort: 'a' } : {}),
                soakSeconds: 60,
                baseline: spec,
                gates: [],
              },
              { name: 'all', percent: 100, soakSeconds: 0, gates: [] },
            ],
          };
          const pins = withPin
            ? [
                {
                  cohort: { matchLabels: { ring: 'b' } },
                  pack: OLD,
                  bucket: { salt: 'pin', percent: 30 },
                },
              ]
            : [];
          const ch = channel({
            cohorts: [{ name: 'a', selector: { matchLabels: { ring: 'a' } } }],
            pins,
          } as never);
          const waiting = release(plan, { state: 'rolling', stageStartedAt: null });
          const started = decide(context(waiting, { channel: ch, targets }), at(0));
          const action = started.actions.find((a) => a.kind === 'setRollout');
          if (action?.kind !== 'setRollout') throw new Error('the stage did not start');
          const reached = targets.filter(
            (t) =>
              (!withCohort || t.labels.ring === 'a') && inPercent(waiting.id, t.id, action.percent),
          );
          const canary = new Set(reached.map((t) => t.id));
          const isPinned = (t: { id: string; labels: Record<string, string> }): boolean =>
            withPin && t.labels.ring === 'b' && inPercent('pin', t.id, 30);
          const stageTargets = reached.filter((t) => !isPinned(t)).map((t) => t.id);
          const ctx = context(started.release, { channel: ch, targets, stageTargets });
          const members = evaluateStageBaseline(ctx);
          for (const id of members) {
            expect(canary.has(id)).toBe(false);
            expect(isPinned(targets.find((t) => t.id === id) as (typeof targets)[number])).toBe(
              false,
            );
          }
          if (!('count' in spec) && !('percent' in spec)) {
            const free = targets.filter((t) => !canary.has(t.id) && !isPinned(t)).length;
            const canarySize = new Set([
              ...stageTargets,
              ...reached.filter((t) => !isPinned(t)).map((t) => t.id),
            ]).size;
            expect(members.length).toBe(Math.min(Math.max(1, canarySize), free));
          }
          // sticky: the order the targets come in does not matter
          const shuffled = context(started.release, {
            channel: ch,
            targets: [...targets].reverse(),
            stageTargets: [...stageTargets].reverse(),
          });
          expect(evaluateStageBaseline(shuffled)).toEqual(members);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("is chosen from the stage's context, outside the stage targets", () => {
    const rel = release(comparePlan(), { state: 'rolling', stageStartedAt: at(0) });
    const ctx = judgedContext(rel, 1, { canary: 0.01, baseline: 0.01 });
    const members = evaluateStageBaseline(ctx);
    expect(members.length).toBe(ctx.stageTargets.length);
    expect(members.filter((id) => ctx.stageTargets.includes(id))).toEqual([]);
  });
});

describe('compare gates in decide', () => {
  it('rolls back a canary that doubles the error rate of its baseline, in words', () => {
    const rel = release(comparePlan(), { state: 'rolling', stageStartedAt: at(0) });
    const result = decide(judgedContext(rel, 10, { canary: 0.1, baseline: 0.05 }), at(600));
    expect(result.release.state).toBe('rolled_back');
    expect(result.decisions[0]).toMatchObject({ rule: 'gate.failed', verdict: 'rolled_back' });
    const reason = result.release.outcome?.reasons[0]?.message ?? '';
    expect(reason).toMatch(
      /^error rate 2x baseline \(99% CI 1\.\d+x–2\.\d+x\), p < 0\.0001: regression$/,
    );
  });

  it('passes an A/A stage after its soak, and ends the soak early when the plan allows', () => {
    const rates = { canary: 0.05, baseline: 0.05 };
    const held = release(comparePlan(), { state: 'rolling', stageStartedAt: at(0) });
    expect(decide(judgedContext(held, 20, rates), at(1200)).decisions).toEqual([]);
    expect(evaluateStageGates(judgedContext(held, 20, rates), at(1200))[0]?.verdict).toBe('pass');
    const soaked = decide(judgedContext(held, 30, rates), at(1800));
    expect(soaked.decisions[0]).toMatchObject({ rule: 'stage.soak_complete', verdict: 'advanced' });

    const early = release(comparePlan({ endSoakOnPass: true }), {
      state: 'rolling',
      stageStartedAt: at(0),
    });
    const result = decide(judgedContext(early, 20, rates), at(1200));
    expect(result.release.stageIndex).toBe(1);
    expect(result.decisions[0]).toMatchObject({
      rule: 'stage.compare_passed',
      verdict: 'advanced',
    });
  });

  it('pauses once instead of rolling back when the failing gate says onFail: pause', () => {
    const rel = release(comparePlan({}, [{ ...compare, onFail: 'pause' }]), {
      state: 'rolling',
      stageStartedAt: at(0),
    });
    const ctx = judgedContext(rel, 10, { canary: 0.1, baseline: 0.05 });
    const result = decide(ctx, at(600));
    expect(result.release.state).toBe('paused');
    expect(result.actions).toEqual([]);
    expect(result.decisions[0]).toMatchObject({ rule: 'gate.failed_pause', verdict: 'paused' });
    expect(result.release.pausedReason).toMatch(/^gate failed: error rate 2x baseline/);
    expect(decide({ ...ctx, release: result.release }, at(660)).decisions).toEqual([]);
  });

  it('records a look that replays to the same digest', () => {
    const rel = release(comparePlan(), { state: 'rolling', stageStartedAt: at(0) });
    const result = decide(judgedContext(rel, 10, { canary: 0.1, baseline: 0.05 }), at(600));
    const gates = result.decisions[0]?.inputs.gates as HealthGateResult[];
    const record = compareRecord(gates[0]);
    const look = record.look;
    if (look === undefined) throw new Error('no look recorded');
    const recorded = JSON.parse(JSON.stringify(look)) as typeof look;
    const replayed = compareGate(recorded.spec, recorded.canary, recorded.baseline, recorded.prior);
    expect(replayed.verdict).toBe('fail');
    expect(
      compareLookDigest(
        recorded.spec,
        recorded.canary,
        recorded.baseline,
        recorded.prior,
        replayed,
      ),
    ).toBe(record.digest);
    expect(record.looks).toBe(10);
    const size = canaryOf(rel).length;
    expect(size).toBeGreaterThan(0);
    expect(record.baseline).toEqual({ members: size, reporting: size, pack: OLD });
  });
});

describe('shadow gates', () => {
  const shadowGates = fc.oneof(
    fc.record({
      kind: fc.constant('compare' as const),
      metric: fc.constant('error_rate' as const),
      alpha: fc.constantFrom(0.01, 0.05, 0.5),
      margin: fc.constantFrom({ relative: 0.05 }, { relative: 1 }),
      minSamples: fc.constantFrom(1, 500, 100_000),
      windowSeconds: fc.constantFrom(30, 60, 300),
      onFail: fc.constantFrom('rollback' as const, 'pause' as const),
    }),
    fc.record({
      metric: fc.constantFrom('error_rate' as const, 'activation_success_rate' as const),
      op: fc.constantFrom('<=' as const, '>=' as const),
      threshold: fc.double({ min: 0, max: 1, noNaN: true }),
      windowSeconds: fc.constantFrom(60, 300),
      minTargets: fc.constant(1),
      minSamples: fc.constantFrom(1, 10_000),
      onFail: fc.constantFrom('rollback' as const, 'pause' as const),
    }),
  );

  it('records a failing shadow verdict beside the enforcing ones while the release advances', () => {
    const strict: StageGate = {
      metric: 'error_rate',
      op: '<=',
      threshold: 0.01,
      windowSeconds: 300,
      minTargets: 1,
      minSamples: 10,
      mode: 'shadow',
    };
    const rel = release(comparePlan({}, [compare, strict]), {
      state: 'rolling',
      stageStartedAt: at(0),
    });
    const result = decide(judgedContext(rel, 30, { canary: 0.05, baseline: 0.05 }), at(1800));
    expect(result.decisions[0]).toMatchObject({ rule: 'stage.soak_complete', verdict: 'advanced' });
    const gates = result.decisions[0]?.inputs.gates as HealthGateResult[];
    expect(gates.map((g) => [g.gate, g.mode, g.verdict])).toEqual([
      ['canary#0', 'enforce', 'pass'],
      ['canary#1', 'shadow', 'fail'],
    ]);
  });

  it('never changes the release, its actions or the rule that fired', () => {
    fc.assert(
      fc.property(
        fc.array(shadowGates, { minLength: 1, maxLength: 3 }),
        fc.constantFrom(0.02, 0.05, 0.1),
        fc.constantFrom(0.02, 0.05),
        fc.integer({ min: 1, max: 40 }),
        fc.constantFrom('rolling' as const, 'paused' as const),
        fc.boolean(),
        (shadow, canary, baseline, minutes, state, endSoakOnPass) => {
          const enforce = { ...compare, minSamples: 2000 };
          const stage = { endSoakOnPass, soakSeconds: 900 };
          const plain = release(comparePlan(stage, [enforce]), {
            state,
            stageStartedAt: at(0),
          });
          const shadowed = release(
            comparePlan(stage, [
              enforce,
              ...shadow.map((g) => ({ ...g, mode: 'shadow' as const })),
            ]),
            { state, stageStartedAt: at(0) },
          );
          const rates = { canary, baseline };
          const a = decide(judgedContext(plain, minutes, rates), at(60 * minutes));
          const b = decide(judgedContext(shadowed, minutes, rates), at(60 * minutes));
          expect({ ...b.release, plan: null }).toEqual({ ...a.release, plan: null });
          expect(b.actions).toEqual(a.actions);
          expect(b.decisions.map((d) => [d.rule, d.verdict, d.to])).toEqual(
            a.decisions.map((d) => [d.rule, d.verdict, d.to]),
          );
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('a compare gate with historySeconds', () => {
  const gate: StageGate = { ...compare, minSamples: 100, historySeconds: 3600 };
  const canary = ['c0', 'c1', 'c2', 'c3'];
  const baseline = ['b0', 'b1', 'b2', 'b3'];
  // the canary's targets fail three times as often as the baseline's, before the stage as in it
  const rate = (id: string): number =>
    (id.startsWith('c') ? 0.03 : 0.01) * (id.endsWith('0') ? 2 : 1);

  /** One report a minute per target from `fromMinute` to `toMinute` (the stage starts at 0). */
  function reports(
    fromMinute: number,
    toMinute: number,
    canaryPack: string,
    factor = 1,
  ): TargetReport[] {
    const out: TargetReport[] = [];
    for (let m = fromMinute; m < toMinute; m += 1) {
      for (const targetId of [...canary, ...baseline]) {
        const inCanary = targetId.startsWith('c');
        const pack = m < 0 || !inCanary ? OLD : canaryPack;
        const r = rate(targetId) * (inCanary && m >= 0 ? factor : 1);
        out.push({
          targetId,
          at: at(60 * (m + 1)),
          activePack: pack,
          health: { requests: 1000, errors: Math.round(1000 * r) },
        });
      }
    }
    return out;
  }

  function judge(spec: StageGate, all: TargetReport[]) {
    return evaluateCompareStageGate(spec as CompareStageGate, {
      reports: all,
      canaryTargets: canary,
      canaryPack: NEW,
      baselineTargets: baseline,
      basePack: OLD,
      stageStartedAt: at(0),
      now: at(60 * 30),
    });
  }

  it("measures each side against its own targets' reports from before the stage", () => {
    // two hours before the stage: only the last hour is history; canary targets then ran OLD
    const all = [...reports(-120, 0, NEW), ...reports(0, 30, NEW)];
    const without = judge(compare, all);
    const withHistory = judge(gate, all);
    // the mix alone makes the canary look three times worse without its history (the spread
    // between targets keeps that from a rollback, at the price of a wide interval)
    expect(without.verdict).not.toBe('pass');
    expect(without.compare.evidence.effect.estimate as number).toBeGreaterThan(2.5);
    expect(withHistory.verdict).not.toBe('fail');
    const effect = withHistory.compare.evidence.effect;
    expect(effect.estimate as number).toBeCloseTo(1, 1);
    expect(effect.lower as number).toBeLessThan(1);
    expect(effect.upper as number).toBeGreaterThan(1);
    expect(withHistory.compare.evidence.history).toMatchObject({
      used: true,
      canary: { targets: 4, requests: 240_000, targetsWithHistory: 4 },
      baseline: { targets: 4, requests: 240_000, targetsWithHistory: 4 },
    });
    // and the recorded look replays to the same digest, history included
    const look = withHistory.compare.look as CompareLook;
    expect(look.history?.canary['c0']).toEqual({ requests: 60_000, errors: 3600 });
    const replayed = compareGate(look.spec, look.canary, look.baseline, look.prior, look.history);
    expect(
      compareLookDigest(look.spec, look.canary, look.baseline, look.prior, replayed, look.history),
    ).toBe(withHistory.compare.digest);
  });

  it('rolls back a canary whose targets fail twice as often as they did before the stage', () => {
    const all = [...reports(-60, 0, NEW), ...reports(0, 30, NEW, 2)];
    const result = judge(gate, all);
    expect(result.verdict).toBe('fail');
    expect(result.compare.evidence.effect.estimate as number).toBeCloseTo(2, 0);
  });

  it('refuses a historySeconds that is not a positive integer', () => {
    expect(compareGateProblems({ ...compare, historySeconds: 0 })).toEqual([
      'gate.historySeconds must be a positive integer',
    ]);
  });
});
