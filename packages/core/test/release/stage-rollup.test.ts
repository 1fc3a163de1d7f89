import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addReports,
  decide,
  emptyRollup,
  evaluateStageGates,
  expireRollup,
  measureStage,
  planHealthWindows,
  rollupReportOf,
  stageRefusals,
} from '../../src/release/index.ts';
import type {
  DecideResult,
  HealthMetric,
  Plan,
  ReleaseContext,
  RollupReport,
  StageGate,
  TargetReport,
} from '../../src/release/index.ts';
import { NEW, OLD, T0, context, release } from './fixtures.ts';

const TARGETS = ['t0', 't1', 't2', 't3', 't4', 't5', 't6', 't7'];
const METRICS: HealthMetric[] = [
  'error_rate',
  'activation_success_rate',
  'latency_p95_ms',
  'latency_p99_ms',
  'signal:cpu',
];
const NOW = T0 + 3_600_000 + 457;

const gateArb: fc.Arbitrary<StageGate> = fc.record({
  metric: fc.constantFrom(...METRICS),
  op: fc.constantFrom('<=' as const, '<' as const, '>=' as const, '>' as const),
  threshold: fc.constantFrom(0, 0.05, 0.5, 0.9, 1, 50, 200),
  windowSeconds: fc.constantFrom(1, 2, 30, 61, 300, 600),
  minTargets: fc.integer({ min: 1, max: 4 }),
  minSamples: fc.integer({ min: 1, max: 60 }),
  mode: fc.constantFrom('enforce' as const, 'shadow' as const),
  onFail: fc.constantFrom('rollback' as const, 'pause' as const),
});

const planArb: fc.Arbitrary<Plan> = fc
  .tuple(fc.array(gateArb, { maxLength: 3 }), fc.array(gateArb, { maxLength: 2 }))
  .map(([first, second]) => ({
    name: 'p',
    stages: [
      { name: 's0', percent: 50, soakSeconds: 60, gates: first },
      { name: 's1', percent: 100, soakSeconds: 0, gates: second },
    ],
  }));

/** Offsets before now in ms, with exact window edges and whole-second edges among them. */
const offsetArb = fc.oneof(
  fc.integer({ min: 0, max: 620_000 }),
  fc.constantFrom(0, 1_000, 1_457, 2_000, 30_000, 61_000, 299_999, 300_000, 300_001, 300_500),
  fc.constantFrom(600_000, 600_001, 600_500, 601_000),
);

const countArb = fc.oneof(fc.integer({ min: 0, max: 200 }), fc.constant(-1));

const reportArb: fc.Arbitrary<TargetReport> = fc
  .record({
    targetId: fc.constantFrom(...TARGETS),
    offset: offsetArb,
    activePack: fc.constantFrom(NEW, OLD, null),
    health: fc.option(
      fc.record(
        {
          requests: countArb,
          errors: countArb,
          latencyP95Ms: countArb,
          latencyP99Ms: countArb,
          signals: fc.record({ cpu: fc.integer({ min: -50, max: 100 }) }, { requiredKeys: [] }),
        },
        { requiredKeys: [] },
      ),
      { nil: undefined },
    ),
    lastAttempt: fc.option(
      fc.record({
        kind: fc.constantFrom('activate' as const, 'verify' as const, 'revert' as const),
        pack: fc.constantFrom(NEW, OLD),
        result: fc.constantFrom('ok' as const, 'failed' as const),
        code: fc.constantFrom('PACK_INCOMPATIBLE', 'HEALTH_CHECK_FAILED'),
        offset: fc.integer({ min: 0, max: 900_000 }),
      }),
      { nil: undefined },
    ),
  })
  .map(({ targetId, offset, activePack, health, lastAttempt }) => {
    const report: TargetReport = {
      targetId,
      at: new Date(NOW - offset).toISOString(),
      activePack,
    };
    if (health !== undefined) report.health = health;
    if (lastAttempt !== undefined) {
      const { offset: attemptOffset, ...attempt } = lastAttempt;
      report.lastAttempt = { ...attempt, at: new Date(NOW - attemptOffset).toISOString() };
    }
    return report;
  });

/** Without the context digest, which differs on purpose (the contexts differ). */
function withoutContext(result: DecideResult): unknown {
  return {
    ...result,
    decisions: result.decisions.map((d) => ({ ...d, inputs: { ...d.inputs, context: null } })),
  };
}

interface Case {
  reportContext: ReleaseContext;
  rolled: RollupReport[];
  fromMs: number;
  plan: Plan;
}

function caseOf(
  plan: Plan,
  members: string[],
  reports: TargetReport[],
  startedOffset: number,
  state: 'rolling' | 'paused',
): Case {
  const windows = planHealthWindows(plan);
  const fromMs = NOW - Math.max(300, ...windows.map((w) => w.windowSeconds)) * 1000;
  // ids as the store gives them; the context holds the window ordered by (at, id)
  const rolled = reports.map((report, i) => ({ id: `r${String(i).padStart(4, '0')}`, report }));
  const ordered = rolled
    .filter((r) => Date.parse(r.report.at) >= fromMs)
    .sort((a, b) =>
      a.report.at === b.report.at ? (a.id < b.id ? -1 : 1) : a.report.at < b.report.at ? -1 : 1,
    );
  const rel = release(plan, {
    state,
    stageIndex: 0,
    stageStartedAt: new Date(NOW - startedOffset).toISOString(),
  });
  const reportContext = context(rel, {
    reports: ordered.map((r) => r.report),
    stageTargets: members,
    targets: TARGETS.map((id) => ({ id, labels: {} })),
  });
  return { reportContext, rolled, fromMs, plan };
}

function measuredContext(
  c: Case,
  batches: number[],
  earlierHorizon: number,
  kept = 0,
  /** the held reports' times parsed once, as the server holds them (rollupReportOf) */
  parsed = false,
): ReleaseContext {
  const windows = planHealthWindows(c.plan);
  const rollup = emptyRollup({
    pack: NEW,
    members: c.reportContext.stageTargets,
    metrics: windows.map((w) => w.metric),
    horizon: c.fromMs - earlierHorizon,
  });
  // the reports in a shuffled order and in batches, the horizon moved on in between
  const held = parsed ? c.rolled.map((r) => rollupReportOf(r.id, r.report)) : c.rolled;
  const shuffled = [...held].sort((a, b) =>
    a.report.targetId === b.report.targetId
      ? a.id < b.id
        ? 1
        : -1
      : a.report.targetId < b.report.targetId
        ? -1
        : 1,
  );
  let start = 0;
  for (const size of batches) {
    addReports(rollup, shuffled.slice(start, start + size));
    start += size;
  }
  expireRollup(rollup, c.fromMs - kept);
  addReports(rollup, shuffled.slice(start));
  const measures = measureStage(rollup, {
    now: new Date(NOW).toISOString(),
    reportsFrom: new Date(c.fromMs).toISOString(),
    windows,
  });
  if (measures === null) throw new Error('integer reports must measure');
  return { ...c.reportContext, reports: [], measures };
}

describe('stage rollup', () => {
  it('gives the same gates, refusals and decisions as the reports it rolls up', () => {
    fc.assert(
      fc.property(
        planArb,
        fc.subarray(TARGETS),
        fc.array(reportArb, { maxLength: 60 }),
        fc.integer({ min: 0, max: 700_000 }),
        fc.constantFrom('rolling' as const, 'paused' as const),
        fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 4 }),
        fc.constantFrom(0, 5_000, 400_000),
        fc.constantFrom(0, 1_500),
        fc.boolean(),
        (plan, members, reports, startedOffset, state, batches, earlierHorizon, kept, parsed) => {
          const c = caseOf(plan, members, reports, startedOffset, state);
          const measured = measuredContext(c, batches, earlierHorizon, kept, parsed);
          const now = new Date(NOW).toISOString();
          expect(evaluateStageGates(measured, now)).toEqual(
            evaluateStageGates(c.reportContext, now),
          );
          expect(stageRefusals(measured, measured.release)).toEqual(
            stageRefusals(c.reportContext, c.reportContext.release),
          );
          expect(withoutContext(decide(measured, now))).toEqual(
            withoutContext(decide(c.reportContext, now)),
          );
        },
      ),
      { numRuns: 400 },
    );
  });

  it('is smaller in the recorded context than the reports it stands for', () => {
    const plan: Plan = {
      name: 'p',
      stages: [
        {
          name: 's0',
          percent: 100,
          soakSeconds: 60,
          gates: [
            {
              metric: 'error_rate',
              op: '<=',
              threshold: 0.05,
              windowSeconds: 300,
              minTargets: 1,
              minSamples: 1,
            },
          ],
        },
      ],
    };
    const reports: TargetReport[] = [];
    for (let i = 0; i < 200; i++) {
      reports.push({
        targetId: TARGETS[i % TARGETS.length] ?? 't0',
        at: new Date(NOW - i * 1000).toISOString(),
        activePack: NEW,
        health: { requests: 100, errors: i % 3 },
      });
    }
    const c = caseOf(plan, TARGETS, reports, 250_000, 'rolling');
    const measured = measuredContext(c, [50, 50], 0);
    expect(JSON.stringify(measured).length * 10).toBeLessThan(
      JSON.stringify(c.reportContext).length,
    );
    expect(measured.measures?.metrics).toEqual([
      {
        metric: 'error_rate',
        windowSeconds: 300,
        measured: 199 / 20_000,
        targets: 8,
        samples: 20_000,
        ignored: 0,
      },
    ]);
  });

  it('refuses to measure a sum that would depend on the order of the reports', () => {
    const rollup = emptyRollup({ pack: NEW, members: ['t0'], metrics: ['error_rate'], horizon: 0 });
    addReports(rollup, [
      {
        id: 'a',
        report: {
          targetId: 't0',
          at: new Date(NOW - 1000).toISOString(),
          activePack: NEW,
          health: { requests: 0.1, errors: 0 },
        },
      },
    ]);
    const input = {
      now: new Date(NOW).toISOString(),
      reportsFrom: new Date(NOW - 300_000).toISOString(),
      windows: [{ metric: 'error_rate' as const, windowSeconds: 300 }],
    };
    expect(measureStage(rollup, input)).toBeNull();
    expireRollup(rollup, NOW - 500);
    expect(measureStage(rollup, input)).toBeNull();
  });

  it('refuses to measure before its horizon or after a report newer than now', () => {
    const rollup = emptyRollup({
      pack: NEW,
      members: ['t0'],
      metrics: ['error_rate'],
      horizon: NOW - 60_000,
    });
    const windows = [{ metric: 'error_rate' as const, windowSeconds: 300 }];
    const now = new Date(NOW).toISOString();
    expect(measureStage(rollup, { now, reportsFrom: now, windows })).toBeNull();
    addReports(rollup, [
      { id: 'a', report: { targetId: 't0', at: new Date(NOW + 1).toISOString(), activePack: NEW } },
    ]);
    expect(measureStage(rollup, { now, reportsFrom: now, windows: [] })).toBeNull();
  });

  it('refuses measures taken at another time than the decision', () => {
    const c = caseOf(planOf(), TARGETS, [], 100_000, 'rolling');
    const measured = measuredContext(c, [], 0);
    expect(() => decide(measured, new Date(NOW + 1000).toISOString())).toThrow(/stage measures/);
  });
});

function planOf(): Plan {
  return {
    name: 'p',
    stages: [{ name: 's0', percent: 100, soakSeconds: 60, gates: [] }],
  };
}
