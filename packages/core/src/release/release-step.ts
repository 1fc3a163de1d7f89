/**
 * The building blocks `decide` and `applyCommand` share: a `Step` (the next release, its actions
 * and one decision draft), the moves between states, the stage helpers and `finish`, which turns
 * the steps of one call into a `DecideResult`. Not part of the package's public API.
 *
 * Invariants: pure; `moved` drops every per-state field that no longer holds (`blockedBy` unless
 * the patch sets it, `pausedReason` outside `paused`); a stage starts (stageStartedAt set, a
 * setRollout action) only when its approvals are in; `finish` bumps the release's `version` by
 * one when there was at least one step and returns the release untouched otherwise, and every
 * draft it returns names the digest of the context it was decided on (its head's:
 * context-digest.ts).
 */
import { LockgateError } from '../errors.ts';
import { releaseContextDigest } from './context-digest.ts';
import { evaluateHealthGate, judgeHealthMeasure } from './health-gate.ts';
import type { HealthGateResult, HealthGateSpec } from './health-gate.ts';
import { evaluateCompareStageGate, isCompareGate } from './compare-stage-gate.ts';
import { modeOf, onFailOf } from './gate-policy.ts';
import { evaluatePrometheusGate, isPrometheusGate } from './prometheus-gate.ts';
import { baselineMembers } from './stage-baseline.ts';
import { cohortSaltOf, inBucket, inPercent, reachPercent } from './bucket.ts';
import type { Stage } from './plan.ts';
import type {
  DecideResult,
  DecisionDraft,
  ReleaseAction,
  ReleaseContext,
  ReleaseState,
  ReleaseStatus,
} from './release-state.ts';
import { inCohort, matchesSelector } from './selector.ts';
import type { TargetRef } from './selector.ts';
import type { StageMeasures } from './stage-rollup.ts';

/** One state change: the next release, its actions and its decision draft without the envelope. */
export interface Step {
  release: ReleaseState;
  actions: ReleaseAction[];
  decision: Omit<DecisionDraft, 'release' | 'at' | 'from' | 'to' | 'stageIndex'>;
}

/** The `now` of one call, as milliseconds and as the RFC 3339 text recorded in drafts. */
export interface Tick {
  nowMs: number;
  at: string;
}

/** The actor of the controller's own decisions; reserved, no operator command may use it. */
export const CONTROLLER = 'controller';

/** The release with `patch` applied and the per-state fields that no longer hold removed. */
export function moved(release: ReleaseState, patch: Partial<ReleaseState>): ReleaseState {
  const next: ReleaseState = { ...release, ...patch };
  if (patch.blockedBy === undefined) delete next.blockedBy;
  if (next.state !== 'paused') delete next.pausedReason;
  return next;
}

/** Stage `index` of the release's plan; RELEASE_STATE_INVALID when the plan has none. */
export function stageOf(release: ReleaseState, index = release.stageIndex): Stage {
  const stage = release.plan.stages[index];
  if (stage === undefined) {
    throw new LockgateError(
      'RELEASE_STATE_INVALID',
      `Release ${release.id} has no stage ${index}.`,
      {
        details: { release: release.id, stageIndex: index },
      },
    );
  }
  return stage;
}

export function stageSummary(
  release: ReleaseState,
  index = release.stageIndex,
): Record<string, unknown> {
  const stage = stageOf(release, index);
  return { index, name: stage.name, percent: stage.percent, cohort: stage.cohort ?? null };
}

/** The distinct actors who approved stage `stage`, sorted. */
export function approversOf(release: ReleaseState, stage: number): string[] {
  return [
    ...new Set(release.approvals.filter((a) => a.stage === stage).map((a) => a.actor)),
  ].sort();
}

/**
 * The targets stage `index` can reach: the channel's targets in the stage's cohort (every target
 * when it names none) that no pin holds (a pin wins over the rollout).
 */
export function stageCandidates(
  context: ReleaseContext,
  release: ReleaseState,
  index: number,
): string[] {
  const stage = stageOf(release, index);
  const { channel } = context;
  const cohort =
    stage.cohort === undefined ? null : channel.cohorts.find((c) => c.name === stage.cohort);
  if (cohort === undefined) return [];
  const salt = cohortSaltOf(release.env, release.channel);
  return context.targets
    .filter((target) => cohort === null || inCohort(cohort, salt, target))
    .filter((target) => !pinned(context, target))
    .map((target) => target.id);
}

/** A pin of the channel holds the target (a pin wins over the rollout). */
function pinned(context: ReleaseContext, target: TargetRef): boolean {
  return context.channel.pins.some(
    (pin) =>
      (pin.cohort === null || matchesSelector(pin.cohort, target.labels)) &&
      inBucket(pin.bucket, target.id),
  );
}

function setRollout(context: ReleaseContext, release: ReleaseState, index: number): ReleaseAction {
  const stage = stageOf(release, index);
  return {
    kind: 'setRollout',
    release: release.id,
    pack: release.pack,
    stageIndex: index,
    stage: stage.name,
    percent: reachPercent(release.id, stage.percent, stageCandidates(context, release, index)),
    cohort: stage.cohort ?? null,
  };
}

/** Something of the release pack may run on targets: a stage has started. */
export function rolledOut(release: ReleaseState): boolean {
  return (
    (release.state === 'rolling' || release.state === 'paused') &&
    (release.stageIndex > 0 || release.stageStartedAt !== null)
  );
}

/** Enters stage `index`: starts it when its approvals are in, else leaves it waiting. */
export function enterStage(
  context: ReleaseContext,
  release: ReleaseState,
  index: number,
  at: string,
  enteredBy: string,
): { release: ReleaseState; actions: ReleaseAction[] } {
  const stage = stageOf(release, index);
  const ready = approversOf(release, index).length >= (stage.approvals ?? 0);
  const next = moved(release, {
    state: 'rolling',
    stageIndex: index,
    stageStartedAt: ready ? at : null,
    stageEnteredBy: enteredBy,
  });
  return { release: next, actions: ready ? [setRollout(context, next, index)] : [] };
}

/** The release completed at `at`; completionActions(release) are the actions that go with it. */
export function completion(release: ReleaseState, at: string, summary: string): Step['release'] {
  return moved(release, { state: 'completed', outcome: { at, summary, reasons: [] } });
}

export function completionActions(release: ReleaseState): ReleaseAction[] {
  return [
    { kind: 'setBase', release: release.id, pack: release.pack },
    { kind: 'setLkg', release: release.id, pack: release.pack },
    { kind: 'clearRollout', release: release.id },
  ];
}

/**
 * The members of stage `index`'s baseline now (stage-baseline.ts): the channel's targets no pin
 * holds outside the stage's canary, from the other end of the release's bucket range; empty
 * without one.
 */
export function stageBaseline(
  context: ReleaseContext,
  release: ReleaseState,
  index = release.stageIndex,
): string[] {
  const stage = stageOf(release, index);
  if (stage.baseline === undefined) return [];
  const candidates = stageCandidates(context, release, index);
  const percent = reachPercent(release.id, stage.percent, candidates);
  const canary = new Set(candidates.filter((id) => inPercent(release.id, id, percent)));
  if (index === release.stageIndex) for (const id of context.stageTargets) canary.add(id);
  const pool = context.targets
    .filter((target) => !pinned(context, target))
    .map((target) => target.id);
  return baselineMembers(stage.baseline, release.id, canary, pool);
}

/**
 * The context's stage measures when it has them, checked to be the ones measured for this
 * release's pack at this `now` (RELEASE_STATE_INVALID otherwise); undefined without them.
 */
export function measuresOf(
  context: ReleaseContext,
  release: ReleaseState,
  at: string,
): StageMeasures | undefined {
  const measures = context.measures;
  if (measures === undefined) return undefined;
  if (measures.at !== at || measures.pack !== release.pack) {
    throw new LockgateError(
      'RELEASE_STATE_INVALID',
      `The stage measures of release ${release.id} were taken at ${measures.at} for ${measures.pack}, not at ${at} for ${release.pack}.`,
      { details: { release: release.id, measuredAt: measures.at, at } },
    );
  }
  return measures;
}

function measuredGate(
  measures: StageMeasures,
  release: ReleaseState,
  gate: HealthGateSpec,
): HealthGateResult {
  const m = measures.metrics.find(
    (x) => x.metric === gate.metric && x.windowSeconds === gate.windowSeconds,
  );
  if (m === undefined) {
    throw new LockgateError(
      'RELEASE_STATE_INVALID',
      `The stage measures of release ${release.id} have no ${gate.metric} over ${gate.windowSeconds}s.`,
      { details: { release: release.id, metric: gate.metric, windowSeconds: gate.windowSeconds } },
    );
  }
  return judgeHealthMeasure(gate, m);
}

/**
 * The current stage's gates evaluated on the reports of the stage's targets (compare gates: the
 * canary against the stage's baseline), or on the context's stage measures when it has them
 * (the same results: stage-rollup.ts), each named (`stage#index`) and with its policy. Shadow
 * gates are evaluated exactly like enforcing ones; only decide tells them apart.
 */
export function stageGates(
  context: ReleaseContext,
  release: ReleaseState,
  tick: Tick,
): HealthGateResult[] {
  const measures = measuresOf(context, release, tick.at);
  const inStage = new Set(measures === undefined ? context.stageTargets : []);
  const reports =
    measures === undefined ? context.reports.filter((r) => inStage.has(r.targetId)) : [];
  const scope = {
    release: release.id,
    pack: release.pack,
    env: release.env,
    channel: release.channel,
    targets: context.stageTargets,
  };
  const stage = stageOf(release);
  const compared = stage.gates.some(isCompareGate);
  if (compared && measures !== undefined) {
    throw new LockgateError(
      'RELEASE_STATE_INVALID',
      `Release ${release.id} has a compare gate: it is decided on reports, not stage measures.`,
      { details: { release: release.id, stage: stage.name } },
    );
  }
  const baseline = compared ? stageBaseline(context, release) : [];
  return stage.gates.map((gate, index) => {
    const result = isPrometheusGate(gate)
      ? evaluatePrometheusGate(gate, scope, context.prometheus ?? [])
      : isCompareGate(gate)
        ? evaluateCompareStageGate(gate, {
            reports: context.reports,
            canaryTargets: context.stageTargets,
            canaryPack: release.pack,
            baselineTargets: baseline,
            basePack: context.channel.base,
            stageStartedAt: release.stageStartedAt ?? tick.at,
            now: tick.at,
          })
        : measures === undefined
          ? evaluateHealthGate(gate, reports, tick.at, { pack: release.pack })
          : measuredGate(measures, release, gate);
    return {
      ...result,
      gate: `${stage.name}#${index}`,
      mode: modeOf(gate),
      onFail: onFailOf(gate),
    };
  });
}

/** Refuses (RELEASE_STATE_INVALID) a release whose stage index is not a stage of its plan. */
export function checkRelease(release: ReleaseState): void {
  const stages = release.plan.stages.length;
  if (
    stages === 0 ||
    !Number.isSafeInteger(release.stageIndex) ||
    release.stageIndex < 0 ||
    release.stageIndex >= stages
  ) {
    throw new LockgateError(
      'RELEASE_STATE_INVALID',
      `Release ${release.id} is at no stage of its plan.`,
      {
        details: { release: release.id, stageIndex: release.stageIndex, stages },
      },
    );
  }
}

/**
 * The result of one call from `start` and the steps taken: the last step's release with its
 * version bumped, every step's actions in order and one decision draft per step.
 */
export function finish(
  context: ReleaseContext,
  start: ReleaseState,
  steps: { step: Step; from: ReleaseStatus; stageIndex: number }[],
  at: string,
): DecideResult {
  if (steps.length === 0) return { release: start, actions: [], decisions: [] };
  const contextDigest = releaseContextDigest(context);
  const last = steps[steps.length - 1]?.step.release ?? start;
  const release: ReleaseState = { ...last, version: start.version + 1 };
  return {
    release,
    actions: steps.flatMap((s) => s.step.actions),
    decisions: steps.map(({ step: s, from, stageIndex }) => ({
      release: start.id,
      at,
      from,
      to: s.release.state,
      stageIndex,
      ...s.decision,
      inputs: { ...s.decision.inputs, context: contextDigest },
    })),
  };
}
