/**
 * The release reconciler: `decide(context, now)` is the pure step the server's controller runs
 * on every tick. It returns the next release, the actions to apply to the channel and one
 * decision draft per state change. Operator commands are in `release-commands.ts`, the
 * candidate check in `release-verification.ts`, the pieces both share in `release-step.ts`.
 *
 * decide runs its rules to a fixed point, so calling it again on its own output with the same
 * context and `now` yields no transition and no decision (idempotent). Rules, in order:
 * - requested: waits for the schedule; a freeze window blocks the start (recorded once);
 *   otherwise → verifying.
 * - verifying: `verifyReleaseCandidate`, fail closed. Any failure → failed, with every reason and
 *   no action, so no target is ever told to run the pack. Pass → rolling at stage 0.
 * - rolling / paused: verification is re-checked on every tick; if it now fails the release is
 *   rolled back (or failed, if nothing was rolled out yet). A stage that has not started starts
 *   once its approvals are in and no freeze is in effect (action setRollout, at the stage's
 *   percent raised by `reachPercent` so it reaches at least one candidate target). A started
 *   stage's agent refusals (`stageRefusals`) and gates are evaluated on the reports of the
 *   stage's targets: a refusal or any gate fail → rolled_back with a rollback action to the
 *   target `planRollback` allows (a clearRollout back to the base when there is none), also
 *   during a freeze and while paused; when nothing the channel allows is left, the release is
 *   paused instead (rule rollback.blocked, recorded once) and no target loses its pack. When
 *   rolling, all gates pass and the soak has elapsed → next stage, or after the last stage →
 *   completed with setBase, setLkg and clearRollout (a freeze holds this, recorded once). Gates
 *   still inconclusive past the stage's progress deadline → paused.
 * - gate policy (gate-policy.ts): only `enforce` gates act; `shadow` gates are evaluated and
 *   recorded in every decision's inputs beside them and change nothing. A failing gate with
 *   `onFail: 'pause'` pauses the release (rule gate.failed_pause, recorded once) instead of
 *   rolling it back; a failing rollback gate outranks it. With the stage's `endSoakOnPass`, all
 *   enforcing gates passing with at least one `compare` gate among them advances before the soak
 *   has elapsed (rule stage.compare_passed).
 * The release's `version` goes up by one for each call that changed it.
 */
import type { ErrorCode } from '../errors.ts';
import { compareInWords } from '../judgment/compare-words.ts';
import { activeFreeze, scheduleAllows } from './freeze.ts';
import type { ActiveFreeze } from './freeze.ts';
import { isoOf, toMillis } from './instant.ts';
import type { HealthGateResult } from './health-gate.ts';
import type { Instant } from './instant.ts';
import { progressDeadlineOf } from './plan.ts';
import { isTerminal } from './release-state.ts';
import type {
  DecideResult,
  DecisionKind,
  PackContext,
  Reason,
  ReleaseAction,
  ReleaseContext,
  ReleaseState,
  ReleaseStatus,
} from './release-state.ts';
import {
  CONTROLLER,
  approversOf,
  checkRelease,
  completion,
  completionActions,
  enterStage,
  finish,
  moved,
  rolledOut,
  stageBaseline,
  stageGates,
  stageOf,
  stageSummary,
} from './release-step.ts';
import type { Step, Tick } from './release-step.ts';
import { verifyReleaseCandidate } from './release-verification.ts';
import { planRollback } from './rollback.ts';
import { stageRefusals } from './stage-refusals.ts';

function rollbackStep(
  context: ReleaseContext,
  release: ReleaseState,
  tick: Tick,
  decision: {
    kind: DecisionKind;
    rule: string;
    inputs: Record<string, unknown>;
    reasons: Reason[];
    summary: string;
  },
): Step | null {
  const { to, blocked, inputs } = planRollback(context.channel, release.pack, tick.at);
  if (blocked !== null) return rollbackBlockedStep(release, decision, inputs, blocked);
  const next = moved(release, {
    state: 'rolled_back',
    outcome: { at: tick.at, summary: decision.summary, reasons: decision.reasons, rollbackTo: to },
  });
  const actions: ReleaseAction[] =
    to === null
      ? [{ kind: 'clearRollout', release: release.id }]
      : [{ kind: 'rollback', release: release.id, pack: release.pack, to }];
  return {
    release: next,
    actions,
    decision: {
      kind: decision.kind,
      rule: decision.rule,
      actor: CONTROLLER,
      reason: null,
      inputs: { ...decision.inputs, rollback: inputs },
      verdict: 'rolled_back',
    },
  };
}

/** Marks a release held because its rollback has nowhere allowed to land (recorded once). */
const ROLLBACK_BLOCKED = 'rollback';

/**
 * A rollback the controller cannot carry out: no pack the channel allows is left. The release is
 * paused with the reason (the rollout stays where it is, so no target is left without a pack)
 * and the decision is recorded once; the next tick rolls back as soon as a target is allowed.
 */
function rollbackBlockedStep(
  release: ReleaseState,
  decision: { kind: DecisionKind; rule: string; inputs: Record<string, unknown>; summary: string },
  rollback: Record<string, unknown>,
  blocked: string,
): Step | null {
  if (release.state === 'paused' && release.blockedBy === ROLLBACK_BLOCKED) return null;
  return {
    release: moved(release, {
      state: 'paused',
      blockedBy: ROLLBACK_BLOCKED,
      pausedReason: `${decision.summary}, but ${blocked}`,
    }),
    actions: [],
    decision: {
      kind: decision.kind,
      rule: 'rollback.blocked',
      actor: CONTROLLER,
      reason: null,
      inputs: { ...decision.inputs, trigger: decision.rule, rollback },
      verdict: 'paused',
    },
  };
}

function freezeStep(release: ReleaseState, freeze: ActiveFreeze, blocks: string): Step | null {
  if (release.blockedBy === freeze.freeze.id) return null;
  return {
    release: { ...release, blockedBy: freeze.freeze.id },
    actions: [],
    decision: {
      kind: 'freeze',
      rule: `freeze.blocks_${blocks}`,
      actor: CONTROLLER,
      reason: null,
      inputs: {
        freeze: {
          id: freeze.freeze.id,
          reason: freeze.freeze.reason,
          from: freeze.from,
          until: freeze.until,
        },
      },
      verdict: 'blocked',
    },
  };
}

function verificationFailedStep(
  context: ReleaseContext,
  release: ReleaseState,
  tick: Tick,
  reasons: Reason[],
): Step | null {
  const inputs = { pack: packInputs(context.pack), reasons };
  if (rolledOut(release)) {
    return rollbackStep(context, release, tick, {
      kind: 'verification',
      rule: 'verification.failed_during_rollout',
      inputs,
      reasons,
      summary: 'the pack no longer verifies',
    });
  }
  return {
    release: moved(release, {
      state: 'failed',
      outcome: { at: tick.at, summary: 'verification failed', reasons },
    }),
    actions: [],
    decision: {
      kind: 'verification',
      rule: 'verification.failed',
      actor: CONTROLLER,
      reason: null,
      inputs,
      verdict: 'failed',
    },
  };
}

function packInputs(pack: PackContext): Record<string, unknown> {
  return {
    digest: pack.digest,
    sequence: pack.sequence,
    eligible: pack.eligible,
    evidenceComplete: pack.evidenceComplete,
    requires: pack.requires,
  };
}

function step(context: ReleaseContext, release: ReleaseState, tick: Tick): Step | null {
  const { at } = tick;
  switch (release.state) {
    case 'requested': {
      if (!scheduleAllows(release.schedule, at)) return null;
      const freeze = activeFreeze(context.freezeWindows, at);
      if (freeze !== null) return freezeStep(release, freeze, 'start');
      return {
        release: moved(release, { state: 'verifying' }),
        actions: [],
        decision: {
          kind: 'schedule',
          rule: 'release.start',
          actor: CONTROLLER,
          reason: null,
          inputs: { schedule: release.schedule ?? null },
          verdict: 'verifying',
        },
      };
    }
    case 'verifying': {
      const verification = verifyReleaseCandidate({ ...context, release }, at);
      if (!verification.ok)
        return verificationFailedStep(context, release, tick, verification.reasons);
      return {
        release: moved(release, { state: 'rolling', stageIndex: 0, stageStartedAt: null }),
        actions: [],
        decision: {
          kind: 'verification',
          rule: 'verification.passed',
          actor: CONTROLLER,
          reason: null,
          inputs: { pack: packInputs(context.pack), constraints: context.channel.constraints },
          verdict: 'rolling',
        },
      };
    }
    case 'rolling':
    case 'paused':
      return rollingStep(context, release, tick);
    default:
      return null;
  }
}

function rollingStep(context: ReleaseContext, release: ReleaseState, tick: Tick): Step | null {
  const { at, nowMs } = tick;
  const verification = verifyReleaseCandidate({ ...context, release }, at);
  if (!verification.ok) return verificationFailedStep(context, release, tick, verification.reasons);
  const stage = stageOf(release);
  const freeze = activeFreeze(context.freezeWindows, at);

  if (release.stageStartedAt === null) {
    if (release.state === 'paused') return null;
    const approvers = approversOf(release, release.stageIndex);
    const need = stage.approvals ?? 0;
    if (approvers.length < need) return null;
    if (freeze !== null) return freezeStep(release, freeze, 'advance');
    const entered = enterStage(
      context,
      release,
      release.stageIndex,
      at,
      release.stageEnteredBy ?? CONTROLLER,
    );
    return {
      ...entered,
      decision: {
        kind: need > 0 ? 'approval' : 'stage',
        rule: need > 0 ? 'approvals.met' : 'stage.start',
        actor: CONTROLLER,
        reason: null,
        inputs: { stage: stageSummary(release), approvers, approvalsNeeded: need },
        verdict: 'started',
      },
    };
  }

  const gates = stageGates(context, release, tick);
  const elapsed = Math.floor((nowMs - toMillis(release.stageStartedAt, 'stageStartedAt')) / 1000);
  const gateInputs = {
    stage: stageSummary(release),
    stageStartedAt: release.stageStartedAt,
    elapsedSeconds: elapsed,
    stageTargets: context.stageTargets.length,
    gates,
  };
  const refusals = stageRefusals(context, release);
  if (refusals.failing) {
    return rollbackStep(context, release, tick, {
      kind: 'health',
      rule: 'stage.refused',
      inputs: { ...gateInputs, refusals: refusals.summary },
      reasons: refusals.summary.map((r) => ({
        code: r.code as ErrorCode,
        message: `${r.kind} refused with ${r.code} on ${r.targets} target(s)`,
      })),
      summary: `agents refused the pack: ${refusals.summary
        .map((r) => `${r.code} on ${r.targets} target(s)`)
        .join(', ')}`,
    });
  }
  // shadow gates are in gateInputs (recorded with every decision) and nowhere else
  const enforced = gates.filter((g) => g.mode !== 'shadow');
  const failed = enforced.filter((g) => g.verdict === 'fail');
  const rollbackFailed = failed.filter((g) => g.onFail !== 'pause');
  if (rollbackFailed.length > 0) {
    return rollbackStep(context, release, tick, {
      kind: 'health',
      rule: 'gate.failed',
      inputs: gateInputs,
      reasons: rollbackFailed.map((g) => ({ message: gateFailureWords(g) })),
      summary: `health gate failed: ${rollbackFailed.map((g) => g.metric).join(', ')}`,
    });
  }
  if (failed.length > 0 && release.state !== 'paused') {
    return {
      release: moved(release, {
        state: 'paused',
        pausedReason: `gate failed: ${failed.map(gateFailureWords).join(' | ')}`,
      }),
      actions: [],
      decision: {
        kind: 'health',
        rule: 'gate.failed_pause',
        actor: CONTROLLER,
        reason: null,
        inputs: gateInputs,
        verdict: 'paused',
      },
    };
  }
  if (release.state === 'paused' || failed.length > 0) return null;

  const allPass = enforced.every((g) => g.verdict === 'pass');
  const soaked = elapsed >= stage.soakSeconds;
  const endEarly =
    stage.endSoakOnPass === true && allPass && enforced.some((g) => g.kind === 'compare');
  if (allPass && (soaked || endEarly)) {
    const rule = soaked ? 'stage.soak_complete' : 'stage.compare_passed';
    if (freeze !== null) return freezeStep(release, freeze, 'advance');
    const last = release.stageIndex === release.plan.stages.length - 1;
    if (last) {
      return {
        release: completion(
          release,
          at,
          soaked
            ? 'every stage passed its gates and soak'
            : 'every stage passed; the last one ended early on its compare gates',
        ),
        actions: completionActions(release),
        decision: {
          kind: 'completion',
          rule,
          actor: CONTROLLER,
          reason: null,
          inputs: gateInputs,
          verdict: 'completed',
        },
      };
    }
    const entered = enterStage(context, release, release.stageIndex + 1, at, CONTROLLER);
    return {
      ...entered,
      decision: {
        kind: 'stage',
        rule,
        actor: CONTROLLER,
        reason: null,
        inputs: { ...gateInputs, next: stageSummary(entered.release) },
        verdict: entered.release.stageStartedAt === null ? 'awaiting_approval' : 'advanced',
      },
    };
  }

  const deadline = progressDeadlineOf(stage);
  if (!allPass && elapsed >= deadline) {
    const inconclusive = enforced.filter((g) => g.verdict === 'inconclusive');
    const why = inconclusive.map((g) => `${g.metric}: ${g.reasons.join('; ')}`).join(' | ');
    return {
      release: moved(release, {
        state: 'paused',
        pausedReason: `gates inconclusive ${deadline}s after the stage started (${why})`,
      }),
      actions: [],
      decision: {
        kind: 'health',
        rule: 'gate.inconclusive_past_deadline',
        actor: CONTROLLER,
        reason: null,
        inputs: { ...gateInputs, progressDeadlineSeconds: deadline },
        verdict: 'paused',
      },
    };
  }
  return null;
}

/** A failing gate in words: a compare gate's effect, interval and p-value, else the threshold. */
export function gateFailureWords(gate: HealthGateResult): string {
  if (gate.compare !== undefined) return compareInWords(gate.compare.evidence);
  return `${gate.metric} measured ${gate.measured} against ${gate.op} ${gate.threshold}`;
}

/** One reconciliation of a release at `now`; pure and idempotent (see the file header). */
export function decide(context: ReleaseContext, now: Instant): DecideResult {
  const nowMs = toMillis(now);
  const tick: Tick = { nowMs, at: isoOf(nowMs) };
  checkRelease(context.release);
  let release = context.release;
  const steps: { step: Step; from: ReleaseStatus; stageIndex: number }[] = [];
  const bound = 2 * release.plan.stages.length + 8;
  for (let i = 0; i < bound && !isTerminal(release.state); i += 1) {
    const next = step(context, release, tick);
    if (next === null) break;
    steps.push({ step: next, from: release.state, stageIndex: next.release.stageIndex });
    release = next.release;
  }
  return finish(context, context.release, steps, tick.at);
}

/**
 * The current stage's gates exactly as `decide` judges them at `now` (the stage's targets'
 * reports, the release's pack), for views that explain a release without deciding anything.
 */
export function evaluateStageGates(context: ReleaseContext, now: Instant): HealthGateResult[] {
  const nowMs = toMillis(now);
  checkRelease(context.release);
  return stageGates(context, context.release, { nowMs, at: isoOf(nowMs) });
}

/** The current stage's baseline members (sorted ids), as compare gates read them. */
export function evaluateStageBaseline(context: ReleaseContext): string[] {
  checkRelease(context.release);
  return stageBaseline(context, context.release);
}
