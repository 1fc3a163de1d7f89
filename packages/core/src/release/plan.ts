/**
 * Rollout plans: ordered stages, each widening the share of the channel that runs the pack.
 *
 * Stage rules (checked by validatePlan, PLAN_INVALID with details.problems):
 * - `percent` in (0, 100], non-decreasing across stages; the last stage is 100% of the whole
 *   channel (no `cohort`), because completing a release makes its pack the channel's base.
 * - `cohort` (optional) names a cohort of the channel; the stage then reaches `percent` of that
 *   cohort only.
 * - `soakSeconds` ≥ 0: the minimum time the stage runs, with every gate passing, before advancing.
 * - `approvals` ≥ 0: distinct approvers (not the requester) needed before the stage starts.
 * - `progressDeadlineSeconds` (default 2 × soak + 600, at least the soak): when gates are still
 *   inconclusive this long after the stage started, the release pauses.
 * - `baseline` (optional): `{}`, `{count: n}` or `{percent: p}`, targets kept on the channel's
 *   base outside the canary (stage-baseline.ts); required by `compare` gates, and only below 100%.
 * - `endSoakOnPass` (optional, default false): when every enforcing gate passes and at least one
 *   of them is a `compare` gate, the stage advances without waiting out its soak.
 * - every gate may carry `mode` ('enforce' | 'shadow') and `onFail` ('rollback' | 'pause'),
 *   gate-policy.ts.
 * Durations are integer seconds; `parseDuration('10m')` reads the human form.
 */
import { LockgateError } from '../errors.ts';
import { compareGateProblems } from '../judgment/compare-gate.ts';
import { isCompareGate } from './compare-stage-gate.ts';
import type { CompareStageGate } from './compare-stage-gate.ts';
import { GATE_POLICY_FIELDS, gatePolicyProblems, withoutPolicy } from './gate-policy.ts';
import type { GatePolicy } from './gate-policy.ts';
import { healthGateProblems } from './health-gate.ts';
import type { HealthGateSpec } from './health-gate.ts';
import { isPrometheusGate, prometheusGateProblems } from './prometheus-gate.ts';
import type { PrometheusGateSpec } from './prometheus-gate.ts';
import { baselineProblems } from './stage-baseline.ts';
import type { StageBaselineSpec } from './stage-baseline.ts';

/**
 * A stage gate: a health gate on agent reports, a prometheus query (prometheus-gate.ts), or a
 * compare of canary and baseline (compare-stage-gate.ts); each with its policy (gate-policy.ts).
 */
export type StageGate =
  (HealthGateSpec & GatePolicy) | (PrometheusGateSpec & GatePolicy) | CompareStageGate;

export interface Stage {
  name: string;
  percent: number;
  cohort?: string;
  soakSeconds: number;
  gates: StageGate[];
  approvals?: number;
  progressDeadlineSeconds?: number;
  /** targets kept on the base pack that compare gates measure the canary against */
  baseline?: StageBaselineSpec;
  /** a passing compare gate (with every other enforcing gate passing) ends the soak early */
  endSoakOnPass?: boolean;
}

/** Problems of one stage gate of any kind, its policy included. */
export function stageGateProblems(gate: unknown, path: string): string[] {
  if (typeof gate !== 'object' || gate === null || Array.isArray(gate)) {
    return [`${path} must be an object`];
  }
  const record = gate as Record<string, unknown>;
  const policy = gatePolicyProblems(record, path);
  if (isCompareGate(gate))
    return [...compareGateProblems(gate, path, GATE_POLICY_FIELDS), ...policy];
  const rest = withoutPolicy(record);
  return [
    ...(isPrometheusGate(gate) ? prometheusGateProblems : healthGateProblems)(rest, path),
    ...policy,
  ];
}

export interface Plan {
  name: string;
  stages: Stage[];
}

const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** Seconds of a duration like `30s`, `10m`, `24h`, `7d`, `1h30m`, or a bare integer of seconds. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const match = DURATION.exec(trimmed);
  if (trimmed === '' || match === null) {
    throw new LockgateError(
      'BAD_REQUEST',
      `"${text}" is not a duration like 30s, 10m, 24h or 1h30m.`,
      {
        details: { duration: text },
      },
    );
  }
  const [, d = '0', h = '0', m = '0', s = '0'] = match;
  const seconds = Number(d) * 86_400 + Number(h) * 3600 + Number(m) * 60 + Number(s);
  if (!Number.isSafeInteger(seconds)) {
    throw new LockgateError('BAD_REQUEST', `"${text}" is too long a duration.`, {
      details: { duration: text },
    });
  }
  return seconds;
}

/** The shortest human form of a number of seconds: 600 → '10m', 5400 → '1h30m', 0 → '0s'. */
export function formatDuration(seconds: number): string {
  if (seconds === 0) return '0s';
  let rest = seconds;
  let out = '';
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}

/** The stage's progress deadline: its own, else 2 × soak + 600 seconds. */
export function progressDeadlineOf(stage: Stage): number {
  return stage.progressDeadlineSeconds ?? 2 * stage.soakSeconds + 600;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const STAGE_FIELDS = [
  'name',
  'percent',
  'cohort',
  'soakSeconds',
  'gates',
  'approvals',
  'progressDeadlineSeconds',
  'baseline',
  'endSoakOnPass',
];
const PLAN_NAME = /^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/;

function nonNegativeInteger(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** Problems of an unknown value as a plan; `cohorts`, when given, are the channel's cohort names. */
export function planProblems(
  value: unknown,
  options: { cohorts?: readonly string[] } = {},
): string[] {
  if (!isObject(value)) return ['plan must be an object'];
  const problems: string[] = [];
  for (const field of Object.keys(value)) {
    if (field !== 'name' && field !== 'stages') problems.push(`plan.${field} is not a plan field`);
  }
  if (typeof value.name !== 'string' || !PLAN_NAME.test(value.name)) {
    problems.push('plan.name must be 1-63 characters of [A-Za-z0-9_.-]');
  }
  if (!Array.isArray(value.stages) || value.stages.length === 0) {
    problems.push('plan.stages must be a non-empty array');
    return problems;
  }
  const stages: unknown[] = value.stages;
  const names = new Set<string>();
  let previousPercent = 0;
  stages.forEach((stage, i) => {
    const path = `plan.stages[${i}]`;
    if (!isObject(stage)) {
      problems.push(`${path} must be an object`);
      return;
    }
    for (const field of Object.keys(stage)) {
      if (!STAGE_FIELDS.includes(field)) problems.push(`${path}.${field} is not a stage field`);
    }
    if (typeof stage.name !== 'string' || !PLAN_NAME.test(stage.name)) {
      problems.push(`${path}.name must be 1-63 characters of [A-Za-z0-9_.-]`);
    } else if (names.has(stage.name)) {
      problems.push(`${path}.name "${stage.name}" is used by an earlier stage`);
    } else {
      names.add(stage.name);
    }
    const { percent } = stage;
    if (typeof percent !== 'number' || !(percent > 0 && percent <= 100)) {
      problems.push(`${path}.percent must be a number in (0, 100]`);
    } else {
      if (percent < previousPercent) {
        problems.push(
          `${path}.percent ${percent} is below the previous stage's ${previousPercent}`,
        );
      }
      previousPercent = percent;
    }
    if (stage.cohort !== undefined) {
      if (typeof stage.cohort !== 'string' || stage.cohort === '') {
        problems.push(`${path}.cohort must be a cohort name`);
      } else if (options.cohorts !== undefined && !options.cohorts.includes(stage.cohort)) {
        problems.push(`${path}.cohort "${stage.cohort}" is not a cohort of the channel`);
      }
    }
    if (!nonNegativeInteger(stage.soakSeconds)) {
      problems.push(`${path}.soakSeconds must be an integer ≥ 0`);
    }
    if (!Array.isArray(stage.gates)) {
      problems.push(`${path}.gates must be an array`);
    } else {
      const gates: unknown[] = stage.gates;
      gates.forEach((gate, g) => problems.push(...stageGateProblems(gate, `${path}.gates[${g}]`)));
      if (stage.baseline === undefined && gates.some(isCompareGate)) {
        problems.push(`${path} has a compare gate and no baseline to compare with`);
      }
    }
    if (stage.baseline !== undefined) {
      // a stage of a cohort leaves the rest of the channel for its baseline
      const valid =
        stage.cohort === undefined && typeof percent === 'number' && percent > 0 && percent <= 100;
      problems.push(
        ...baselineProblems(stage.baseline, `${path}.baseline`, valid ? percent : null),
      );
    }
    if (stage.endSoakOnPass !== undefined && typeof stage.endSoakOnPass !== 'boolean') {
      problems.push(`${path}.endSoakOnPass must be true or false`);
    }
    if (stage.approvals !== undefined && !nonNegativeInteger(stage.approvals)) {
      problems.push(`${path}.approvals must be an integer ≥ 0`);
    }
    const deadline = stage.progressDeadlineSeconds;
    if (deadline !== undefined) {
      if (!Number.isSafeInteger(deadline) || (deadline as number) <= 0) {
        problems.push(`${path}.progressDeadlineSeconds must be a positive integer`);
      } else if (
        nonNegativeInteger(stage.soakSeconds) &&
        (deadline as number) < stage.soakSeconds
      ) {
        problems.push(`${path}.progressDeadlineSeconds must be at least soakSeconds`);
      }
    }
  });
  const last = stages[stages.length - 1];
  if (isObject(last) && (last.percent !== 100 || last.cohort !== undefined)) {
    problems.push('the last stage must reach 100% of the channel (percent 100, no cohort)');
  }
  return problems;
}

/** Checks an unknown value as a plan and returns a copy; PLAN_INVALID with details.problems. */
export function validatePlan(value: unknown, options: { cohorts?: readonly string[] } = {}): Plan {
  const problems = planProblems(value, options);
  if (problems.length > 0) {
    throw new LockgateError('PLAN_INVALID', `The rollout plan is malformed: ${problems[0]}.`, {
      details: { problems },
    });
  }
  return structuredClone(value as Plan);
}

/** Default health gates of the built-in plans. */
export const DEFAULT_GATES: readonly HealthGateSpec[] = Object.freeze([
  Object.freeze({
    metric: 'error_rate',
    op: '<=',
    threshold: 0.05,
    windowSeconds: 300,
    minTargets: 1,
    minSamples: 100,
  } as const),
  Object.freeze({
    metric: 'activation_success_rate',
    op: '>=',
    threshold: 0.95,
    windowSeconds: 300,
    minTargets: 1,
    minSamples: 1,
  } as const),
]);

function defaultStage(name: string, percent: number, soak: string): Stage {
  return {
    name,
    percent,
    soakSeconds: parseDuration(soak),
    gates: DEFAULT_GATES.map((g) => ({ ...g })),
  };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

export type BuiltinPlanName = 'canary' | 'all-at-once';

/** The built-in plans (frozen; copy with structuredClone before changing one). */
export const BUILTIN_PLANS: Readonly<Record<BuiltinPlanName, Plan>> = deepFreeze({
  canary: {
    name: 'canary',
    stages: [
      defaultStage('canary', 10, '10m'),
      defaultStage('half', 50, '30m'),
      defaultStage('all', 100, '30m'),
    ],
  },
  'all-at-once': { name: 'all-at-once', stages: [defaultStage('all', 100, '10m')] },
});
