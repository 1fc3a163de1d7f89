import type { CompareStageGate, Cohort, Plan, StageGate } from '@lockgate/core';

/**
 * The demo's environment, channel, cohorts and plans, sized for a small fleet.
 *
 * Stages use label rings rather than hash percentages: with 20 targets a 10% hash bucket holds
 * anywhere from 0 to 6 of them (none at all one time in eight), which would make the demo's
 * gates flaky. Labelling 10% of the targets `ring=canary` and 40% more `ring=early` gives the
 * same 10% → 50% → 100% shape with exact stage sizes.
 */
export const DEMO_ENV = 'demo';
export const DEMO_CHANNEL = 'stable';
export const RELEASE_PLAN = 'demo-rings';
export const BOOTSTRAP_PLAN = 'demo-bootstrap';

export type Ring = 'canary' | 'early' | 'main';

export interface DemoTargetSpec {
  id: string;
  ring: Ring;
  labels: Record<string, string>;
}

const REGIONS = ['eu', 'us'] as const;

/** The fleet: ids `demo-01`…, 10% `ring=canary`, the next 40% `ring=early`, the rest `main`. */
export function demoTargets(count: number): DemoTargetSpec[] {
  const sizes = ringSizes(count);
  const width = String(count).length < 2 ? 2 : String(count).length;
  return Array.from({ length: count }, (_, i) => {
    const ring: Ring = i < sizes.canary ? 'canary' : i < sizes.early ? 'early' : 'main';
    return {
      id: `demo-${String(i + 1).padStart(width, '0')}`,
      ring,
      labels: { ring, region: REGIONS[i % REGIONS.length] ?? 'eu' },
    };
  });
}

/** How many targets each stage holds: canary ⊂ early ⊂ all (cumulative). */
export function ringSizes(count: number): { canary: number; early: number; all: number } {
  const canary = Math.max(1, Math.round(count * 0.1));
  const early = Math.max(canary, Math.round(count * 0.5));
  return { canary, early, all: count };
}

export const DEMO_COHORTS: Cohort[] = [
  { name: 'canary', selector: { matchLabels: { ring: 'canary' } } },
  {
    name: 'early',
    selector: { matchExpressions: [{ key: 'ring', operator: 'In', values: ['canary', 'early'] }] },
  },
];

export interface DemoTiming {
  /** soak of each stage of the release plan, seconds */
  soakSeconds: number;
  /** health gate window, seconds */
  windowSeconds: number;
  /** lookups per second each runtime receives */
  requestsPerSecond: number;
}

export const DEFAULT_TIMING: DemoTiming = {
  soakSeconds: 3,
  windowSeconds: 10,
  requestsPerSecond: 8,
};

function gates(targets: number, timing: DemoTiming, judged: boolean): StageGate[] {
  // Require a quarter of the traffic the stage's targets can serve in one window, so a gate
  // decides on real samples but does not wait for a full window.
  const minSamples = Math.max(
    20,
    Math.floor((targets * timing.requestsPerSecond * timing.windowSeconds) / 4),
  );
  const threshold: StageGate = {
    metric: 'error_rate',
    op: '<=',
    threshold: 0.05,
    windowSeconds: timing.windowSeconds,
    minTargets: targets,
    minSamples,
  };
  return [
    // where a baseline judges the canary, the fixed threshold only watches (shadow)
    judged ? { ...threshold, mode: 'shadow' } : threshold,
    {
      metric: 'activation_success_rate',
      op: '>=',
      threshold: 0.95,
      // Activations happen once per stage: look back over the whole stage.
      windowSeconds: 120,
      minTargets: targets,
      minSamples: targets,
    },
    ...(judged ? [compareGate(minSamples, timing)] : []),
  ];
}

/**
 * The canary against its baseline: a regression of the error rate shown at α = 0.05, harm
 * beyond 2 points ruled out to pass. The margin is absolute because the good packs serve no
 * errors at all, and a ratio to a zero rate says little.
 */
function compareGate(minSamples: number, timing: DemoTiming): CompareStageGate {
  return {
    kind: 'compare',
    metric: 'error_rate',
    alpha: 0.05,
    margin: { absolute: 0.02 },
    minSamples,
    windowSeconds: Math.max(1, Math.round(timing.windowSeconds / 5)),
  };
}

/**
 * 10% (ring canary) → 50% (rings canary + early) → 100%, each gated and soaked. The first two
 * stages keep as many targets outside the stage on the base as a baseline, and a `compare` gate
 * judges the canary against it; the last stage (the whole channel) has no one left to compare
 * with and keeps the fixed threshold.
 */
export function releasePlan(count: number, timing: DemoTiming = DEFAULT_TIMING): Plan {
  const sizes = ringSizes(count);
  const deadline = 90;
  return {
    name: RELEASE_PLAN,
    stages: [
      {
        name: 'canary',
        cohort: 'canary',
        percent: 100,
        soakSeconds: timing.soakSeconds,
        baseline: {},
        gates: gates(sizes.canary, timing, true),
        progressDeadlineSeconds: deadline,
      },
      {
        name: 'half',
        cohort: 'early',
        percent: 100,
        soakSeconds: timing.soakSeconds,
        baseline: {},
        gates: gates(sizes.early, timing, true),
        progressDeadlineSeconds: deadline,
      },
      {
        name: 'all',
        percent: 100,
        soakSeconds: timing.soakSeconds,
        gates: gates(sizes.all, timing, false),
        progressDeadlineSeconds: deadline,
      },
    ],
  };
}

/**
 * Makes the first pack the channel's base: one stage, no soak and no health gate, because no
 * target runs anything yet. Releases after it go through the gated plan.
 */
export function bootstrapPlan(): Plan {
  return {
    name: BOOTSTRAP_PLAN,
    stages: [{ name: 'all', percent: 100, soakSeconds: 0, gates: [] }],
  };
}
