/**
 * The release reconciler: `decide(context, now)` is the pure step the server's controller runs
 * on every tick, `applyCommand(...)` the pure effect of an operator command. Both return the next
 * release, the actions to apply to the channel and one decision draft per state change.
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
 *   paused instead (rule rollback.blocked, recorded once) and no target loses its pack. When rolling, all gates pass and the soak has elapsed
 *   → next stage, or after the last stage → completed with setBase, setLkg and clearRollout
 *   (a freeze holds this, recorded once). Gates still inconclusive past the stage's progress
 *   deadline → paused.
 * The release's `version` goes up by one for each call that changed it.
 */
import semver from 'semver';
import { canonicalBytes } from '../canonical-json.ts';
import { digestOf } from '../digest.ts';
import { LockgateError } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';
import { activeFreeze, scheduleAllows } from './freeze.ts';
import type { ActiveFreeze } from './freeze.ts';
import { evaluateHealthGate } from './health-gate.ts';
import type { HealthGateResult, TargetReport } from './health-gate.ts';
import { isoOf, parseTime, toMillis } from './instant.ts';
import type { Instant } from './instant.ts';
import { cohortSaltOf, inBucket, reachPercent } from './bucket.ts';
import { rollbackAuthorized } from './pin.ts';
import { progressDeadlineOf } from './plan.ts';
import type { Stage } from './plan.ts';
import { COMMAND_KINDS, isTerminal } from './release-state.ts';
import type {
  ChannelContext,
  DecideResult,
  DecisionDraft,
  DecisionKind,
  PackContext,
  Reason,
  ReleaseAction,
  ReleaseCommand,
  ReleaseContext,
  ReleaseState,
  ReleaseStatus,
} from './release-state.ts';
import { ALLOW_HINT, planRollback } from './rollback.ts';
import { inCohort, matchesSelector } from './selector.ts';

export interface VerificationResult {
  ok: boolean;
  reasons: Reason[];
}

/**
 * Verification of a release candidate against its channel, fail closed; every failing check is
 * reported: not eligible (RELEASE_NOT_ELIGIBLE, with the eligibility reasons), revoked
 * (PACK_REVOKED), a channel constraint not met by `pack.requires` (PACK_INCOMPATIBLE: semver
 * range intersection for `runtime`, equality for other keys, a missing key fails), sequence below
 * the floor without an unexpired rollback authorization for the pack (RELEASE_BELOW_FLOOR),
 * evidence incomplete (EVIDENCE_MISSING). When `release` is given, the context's pack must be it.
 */
export function verifyReleaseCandidate(
  input: {
    pack: PackContext;
    channel: ChannelContext;
    release?: Pick<ReleaseState, 'pack' | 'packSequence'>;
  },
  now: Instant,
): VerificationResult {
  const { pack, channel, release } = input;
  const reasons: Reason[] = [];
  if (
    release !== undefined &&
    (release.pack !== pack.digest || release.packSequence !== pack.sequence)
  ) {
    reasons.push({
      code: 'RELEASE_NOT_ELIGIBLE',
      message: `the pack context (${pack.digest} #${pack.sequence}) is not the release's pack (${release.pack} #${release.packSequence})`,
    });
  }
  if (!pack.eligible) {
    reasons.push({ code: 'RELEASE_NOT_ELIGIBLE', message: `pack ${pack.digest} is not eligible` });
    for (const r of pack.eligibilityReasons) reasons.push({ code: r.code, message: r.message });
  }
  if (channel.revoked.includes(pack.digest)) {
    reasons.push({ code: 'PACK_REVOKED', message: `pack ${pack.digest} is revoked` });
  }
  for (const key of Object.keys(channel.constraints).sort()) {
    const want = channel.constraints[key] ?? '';
    const have = Object.hasOwn(pack.requires, key) ? pack.requires[key] : undefined;
    if (have === undefined) {
      reasons.push({
        code: 'PACK_INCOMPATIBLE',
        message: `the channel requires ${key} "${want}" but the pack does not declare ${key}`,
      });
    } else if (key === 'runtime') {
      // Fail closed: every runtime the channel admits must satisfy the pack's requirement.
      const ok =
        semver.validRange(have) !== null &&
        semver.validRange(want) !== null &&
        semver.subset(want, have);
      if (!ok) {
        reasons.push({
          code: 'PACK_INCOMPATIBLE',
          message: `the pack's runtime "${have}" does not cover every runtime the channel allows ("${want}")`,
        });
      }
    } else if (have !== want) {
      reasons.push({
        code: 'PACK_INCOMPATIBLE',
        message: `the pack's ${key} "${have}" is not the channel's "${want}"`,
      });
    }
  }
  if (!Number.isSafeInteger(pack.sequence) || pack.sequence < 0) {
    reasons.push({
      code: 'RELEASE_NOT_ELIGIBLE',
      message: `pack sequence ${pack.sequence} is invalid`,
    });
  } else if (
    channel.floor !== null &&
    pack.sequence < channel.floor &&
    !rollbackAuthorized(channel.rollbackAuthorizations, pack.digest, now)
  ) {
    reasons.push({
      code: 'RELEASE_BELOW_FLOOR',
      message: `pack sequence ${pack.sequence} is below the channel floor ${channel.floor} and no rollback authorization covers it`,
    });
  }
  if (!pack.evidenceComplete) {
    reasons.push({
      code: 'EVIDENCE_MISSING',
      message: `evidence for pack ${pack.digest} is incomplete`,
    });
  }
  return { ok: reasons.length === 0, reasons };
}

interface Step {
  release: ReleaseState;
  actions: ReleaseAction[];
  decision: Omit<DecisionDraft, 'release' | 'at' | 'from' | 'to' | 'stageIndex'>;
}

interface Tick {
  nowMs: number;
  at: string;
}

const CONTROLLER = 'controller';

/** The release with `patch` applied and the per-state fields that no longer hold removed. */
function moved(release: ReleaseState, patch: Partial<ReleaseState>): ReleaseState {
  const next: ReleaseState = { ...release, ...patch };
  if (patch.blockedBy === undefined) delete next.blockedBy;
  if (next.state !== 'paused') delete next.pausedReason;
  return next;
}

function stageOf(release: ReleaseState, index = release.stageIndex): Stage {
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

function stageSummary(release: ReleaseState, index = release.stageIndex): Record<string, unknown> {
  const stage = stageOf(release, index);
  return { index, name: stage.name, percent: stage.percent, cohort: stage.cohort ?? null };
}

function approversOf(release: ReleaseState, stage: number): string[] {
  return [
    ...new Set(release.approvals.filter((a) => a.stage === stage).map((a) => a.actor)),
  ].sort();
}

/**
 * The targets stage `index` can reach: the channel's targets in the stage's cohort (every target
 * when it names none) that no pin holds (a pin wins over the rollout).
 */
function stageCandidates(context: ReleaseContext, release: ReleaseState, index: number): string[] {
  const stage = stageOf(release, index);
  const { channel } = context;
  const cohort =
    stage.cohort === undefined ? null : channel.cohorts.find((c) => c.name === stage.cohort);
  if (cohort === undefined) return [];
  const salt = cohortSaltOf(release.env, release.channel);
  return context.targets
    .filter((target) => cohort === null || inCohort(cohort, salt, target))
    .filter(
      (target) =>
        !channel.pins.some(
          (pin) =>
            (pin.cohort === null || matchesSelector(pin.cohort, target.labels)) &&
            inBucket(pin.bucket, target.id),
        ),
    )
    .map((target) => target.id);
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
function rolledOut(release: ReleaseState): boolean {
  return (
    (release.state === 'rolling' || release.state === 'paused') &&
    (release.stageIndex > 0 || release.stageStartedAt !== null)
  );
}

/** Enters stage `index`: starts it when its approvals are in, else leaves it waiting. */
function enterStage(
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

function completion(release: ReleaseState, at: string, summary: string): Step['release'] {
  return moved(release, { state: 'completed', outcome: { at, summary, reasons: [] } });
}

function completionActions(release: ReleaseState): ReleaseAction[] {
  return [
    { kind: 'setBase', release: release.id, pack: release.pack },
    { kind: 'setLkg', release: release.id, pack: release.pack },
    { kind: 'clearRollout', release: release.id },
  ];
}

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

function stageGates(
  context: ReleaseContext,
  release: ReleaseState,
  tick: Tick,
): HealthGateResult[] {
  const inStage = new Set(context.stageTargets);
  const reports = context.reports.filter((r) => inStage.has(r.targetId));
  return stageOf(release).gates.map((gate) =>
    evaluateHealthGate(gate, reports, tick.at, { pack: release.pack }),
  );
}

/** Refusals of the release's pack by the stage's targets, by attempt kind and code. */
export interface StageRefusal {
  kind: 'verify' | 'activate';
  code: string;
  targets: number;
}

/**
 * Agent refusals are evidence against the stage: a stage target whose latest report (in the
 * context's window) carries a failed `verify` or `activate` attempt at the release's pack, made
 * since the stage started, refused it. A verification refusal (the agent would not activate the
 * pack at all: incompatible, below its floor, a hash or signature that does not verify) fails
 * the stage at once, fail closed. A failed activation (the pack ran and failed its local health
 * check, and the agent reverted) fails the stage too, unless the stage has an
 * `activation_success_rate` gate, whose threshold then judges activations.
 */
export function stageRefusals(
  context: ReleaseContext,
  release: ReleaseState,
): { failing: boolean; summary: StageRefusal[] } {
  const started = release.stageStartedAt === null ? null : parseTime(release.stageStartedAt);
  if (started === null) return { failing: false, summary: [] };
  const inStage = new Set(context.stageTargets);
  const latest = new Map<string, TargetReport>();
  for (const report of context.reports) {
    if (!inStage.has(report.targetId)) continue;
    const seen = latest.get(report.targetId);
    if (seen === undefined || (parseTime(report.at) ?? 0) >= (parseTime(seen.at) ?? 0)) {
      latest.set(report.targetId, report);
    }
  }
  const counts = new Map<string, StageRefusal>();
  for (const report of latest.values()) {
    const attempt = report.lastAttempt;
    if (
      attempt === undefined ||
      attempt.pack !== release.pack ||
      attempt.result !== 'failed' ||
      (attempt.kind !== 'verify' && attempt.kind !== 'activate') ||
      (parseTime(attempt.at) ?? -Infinity) < started
    ) {
      continue;
    }
    const code = attempt.code ?? 'UNKNOWN';
    const key = `${attempt.kind}\n${code}`;
    const entry = counts.get(key) ?? { kind: attempt.kind, code, targets: 0 };
    entry.targets += 1;
    counts.set(key, entry);
  }
  const summary = [...counts.values()].sort((a, b) =>
    a.kind === b.kind ? (a.code < b.code ? -1 : a.code > b.code ? 1 : 0) : a.kind < b.kind ? -1 : 1,
  );
  const judgedByGate = stageOf(release).gates.some((g) => g.metric === 'activation_success_rate');
  const failing = summary.some((r) => r.kind === 'verify' || !judgedByGate);
  return { failing, summary };
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
  const failed = gates.filter((g) => g.verdict === 'fail');
  if (failed.length > 0) {
    return rollbackStep(context, release, tick, {
      kind: 'health',
      rule: 'gate.failed',
      inputs: gateInputs,
      reasons: failed.map((g) => ({
        message: `${g.metric} measured ${g.measured} against ${g.op} ${g.threshold}`,
      })),
      summary: `health gate failed: ${failed.map((g) => g.metric).join(', ')}`,
    });
  }
  if (release.state === 'paused') return null;

  const allPass = gates.every((g) => g.verdict === 'pass');
  if (allPass && elapsed >= stage.soakSeconds) {
    if (freeze !== null) return freezeStep(release, freeze, 'advance');
    const last = release.stageIndex === release.plan.stages.length - 1;
    if (last) {
      return {
        release: completion(release, at, 'every stage passed its gates and soak'),
        actions: completionActions(release),
        decision: {
          kind: 'completion',
          rule: 'stage.soak_complete',
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
        rule: 'stage.soak_complete',
        actor: CONTROLLER,
        reason: null,
        inputs: { ...gateInputs, next: stageSummary(entered.release) },
        verdict: entered.release.stageStartedAt === null ? 'awaiting_approval' : 'advanced',
      },
    };
  }

  const deadline = progressDeadlineOf(stage);
  if (!allPass && elapsed >= deadline) {
    const inconclusive = gates.filter((g) => g.verdict === 'inconclusive');
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

function checkRelease(release: ReleaseState): void {
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

function finish(
  context: ReleaseContext,
  start: ReleaseState,
  steps: { step: Step; from: ReleaseStatus; stageIndex: number }[],
  at: string,
): DecideResult {
  if (steps.length === 0) return { release: start, actions: [], decisions: [] };
  const contextDigest = digestOf(canonicalBytes(context));
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

function refuse(release: ReleaseState, command: ReleaseCommand, why: string): never {
  throw new LockgateError(
    'RELEASE_STATE_INVALID',
    `Cannot ${command.kind} release ${release.id} in state ${release.state}: ${why}.`,
    { details: { release: release.id, state: release.state, command: command.kind } },
  );
}

/** The stage an approval given now counts for, or null when none can take one. */
export function approvalStageOf(release: ReleaseState): number | null {
  switch (release.state) {
    case 'requested':
    case 'verifying':
      return 0;
    case 'rolling':
    case 'paused':
      if (release.stageStartedAt === null) return release.stageIndex;
      return release.stageIndex + 1 < release.plan.stages.length ? release.stageIndex + 1 : null;
    default:
      return null;
  }
}

function checkCommand(command: ReleaseCommand): void {
  const problems: string[] = [];
  if (!COMMAND_KINDS.includes(command.kind))
    problems.push(`kind must be one of ${COMMAND_KINDS.join(', ')}`);
  if (typeof command.actor !== 'string' || command.actor.trim() === '')
    problems.push('actor must be a non-empty string');
  if (command.actor === CONTROLLER) problems.push(`actor "${CONTROLLER}" is reserved`);
  if (typeof command.reason !== 'string' || command.reason.trim() === '')
    problems.push('reason must be a non-empty string');
  if (
    command.full !== undefined &&
    (command.kind !== 'promote' || typeof command.full !== 'boolean')
  ) {
    problems.push('full is a boolean of promote only');
  }
  if (problems.length > 0) {
    throw new LockgateError('VALIDATION_FAILED', `The command is malformed: ${problems[0]}.`, {
      details: { problems },
    });
  }
}

/**
 * The effect of an operator command on a release at `now`. Throws RELEASE_STATE_INVALID when the
 * state does not allow it, APPROVAL_SELF / APPROVAL_DUPLICATE for approvals, FREEZE_ACTIVE for a
 * promote during a freeze, ROLLBACK_TARGET_MISSING for a rollback with nowhere to go. Otherwise
 * returns the next release, its actions and one decision draft carrying the actor and reason.
 * Commands do not run the controller's rules: the next `decide` acts on the new state (e.g.
 * starts a stage whose approvals are now in).
 */
export function applyCommand(
  release: ReleaseState,
  command: ReleaseCommand,
  context: ReleaseContext,
  now: Instant,
): DecideResult {
  checkCommand(command);
  checkRelease(release);
  const nowMs = toMillis(now);
  const at = isoOf(nowMs);
  const ctx: ReleaseContext = { ...context, release };
  const state = release.state;
  const active = state === 'rolling' || state === 'paused';
  let next: ReleaseState;
  let actions: ReleaseAction[] = [];
  let inputs: Record<string, unknown> = {};
  let verdict: string;
  let kind: DecisionKind = 'command';

  switch (command.kind) {
    case 'pause':
      if (state !== 'rolling') refuse(release, command, 'only a rolling release can be paused');
      next = moved(release, { state: 'paused', pausedReason: command.reason });
      verdict = 'paused';
      break;
    case 'resume':
      if (state !== 'paused') refuse(release, command, 'only a paused release can be resumed');
      // The stage's soak and progress deadline start again from now.
      next = moved(release, {
        state: 'rolling',
        stageStartedAt: release.stageStartedAt === null ? null : at,
      });
      inputs = { pausedReason: release.pausedReason ?? null };
      verdict = 'rolling';
      break;
    case 'abort':
    case 'reject': {
      if (isTerminal(state)) refuse(release, command, 'the release has ended');
      if (command.kind === 'reject') {
        const stage = approvalStageOf(release);
        if (stage === null || (stageOf(release, stage).approvals ?? 0) === 0) {
          refuse(release, command, 'no stage awaits approval');
        }
        inputs = { stage: stageSummary(release, stage) };
        kind = 'approval';
      }
      next = moved(release, {
        state: 'aborted',
        outcome: {
          at,
          summary: `${command.kind}ed by ${command.actor}`,
          reasons: [{ message: command.reason }],
        },
      });
      actions = rolledOut(release) ? [{ kind: 'clearRollout', release: release.id }] : [];
      verdict = 'aborted';
      break;
    }
    case 'approve': {
      if (isTerminal(state)) refuse(release, command, 'the release has ended');
      const stage = approvalStageOf(release);
      const need = stage === null ? 0 : (stageOf(release, stage).approvals ?? 0);
      if (stage === null || need === 0) refuse(release, command, 'no stage awaits approval');
      if (command.actor === release.requestedBy) {
        throw new LockgateError(
          'APPROVAL_SELF',
          `${command.actor} requested release ${release.id} and cannot approve it.`,
          {
            details: { release: release.id, actor: command.actor },
          },
        );
      }
      if (release.approvals.some((a) => a.stage === stage && a.actor === command.actor)) {
        throw new LockgateError(
          'APPROVAL_DUPLICATE',
          `${command.actor} already approved stage ${stage} of release ${release.id}.`,
          {
            details: { release: release.id, actor: command.actor, stage },
          },
        );
      }
      next = { ...release, approvals: [...release.approvals, { stage, actor: command.actor, at }] };
      const approvers = approversOf(next, stage);
      inputs = { stage: stageSummary(release, stage), approvers, approvalsNeeded: need };
      verdict = approvers.length >= need ? 'approvals_met' : 'approval_recorded';
      kind = 'approval';
      break;
    }
    case 'retry':
      if (state !== 'failed') refuse(release, command, 'only a failed release can be retried');
      next = moved(release, { state: 'requested', stageIndex: 0, stageStartedAt: null });
      delete next.outcome;
      inputs = { previousOutcome: release.outcome ?? null };
      verdict = 'requested';
      break;
    case 'rollback': {
      if (!active) refuse(release, command, 'only a rolling or paused release can be rolled back');
      const {
        to,
        blocked,
        refused,
        inputs: rollbackInputs,
      } = planRollback(ctx.channel, release.pack, at);
      if (blocked !== null || (to === null && refused.length > 0)) {
        // The pin or LKG exists but the channel does not allow it now (the operator asked for
        // it, so landing elsewhere would not be what was asked): refuse, saying what allows it.
        const why =
          blocked ??
          `${refused.join('; ')}; ${ALLOW_HINT}, or abort the release to return to the base`;
        throw new LockgateError(
          'ROLLBACK_TARGET_NOT_ALLOWED',
          `Release ${release.id} cannot be rolled back: ${why}.`,
          { details: { release: release.id, ...rollbackInputs } },
        );
      }
      if (to === null) {
        throw new LockgateError(
          'ROLLBACK_TARGET_MISSING',
          `Channel ${release.env}/${release.channel} has no pin or last-known-good pack to roll back to.`,
          {
            details: { release: release.id, ...rollbackInputs },
          },
        );
      }
      next = moved(release, {
        state: 'rolled_back',
        outcome: {
          at,
          summary: `rolled back by ${command.actor}`,
          reasons: [{ message: command.reason }],
          rollbackTo: to,
        },
      });
      actions = [{ kind: 'rollback', release: release.id, pack: release.pack, to }];
      inputs = { rollback: rollbackInputs };
      verdict = 'rolled_back';
      break;
    }
    case 'promote': {
      if (!active) refuse(release, command, 'only a rolling or paused release can be promoted');
      if (release.stageStartedAt === null)
        refuse(release, command, `stage ${release.stageIndex} awaits approvals`);
      const freeze = activeFreeze(ctx.freezeWindows, at);
      if (freeze !== null) {
        throw new LockgateError(
          'FREEZE_ACTIVE',
          `Freeze window ${freeze.freeze.id} is in effect until ${freeze.until}: ${freeze.freeze.reason}.`,
          {
            details: { release: release.id, freeze: freeze.freeze.id, until: freeze.until },
          },
        );
      }
      const gates = stageGates(ctx, release, { nowMs, at });
      const failing = gates.filter((g) => g.verdict === 'fail');
      if (failing.length > 0)
        refuse(release, command, `gate ${failing.map((g) => g.metric).join(', ')} fails`);
      const lastIndex = release.plan.stages.length - 1;
      inputs = { stage: stageSummary(release), gates, full: command.full === true };
      if (release.stageIndex === lastIndex) {
        next = completion(release, at, `promoted by ${command.actor}`);
        actions = completionActions(release);
        verdict = 'completed';
      } else {
        const entered = enterStage(
          ctx,
          release,
          command.full === true ? lastIndex : release.stageIndex + 1,
          at,
          command.actor,
        );
        next = entered.release;
        actions = entered.actions;
        verdict = next.stageStartedAt === null ? 'awaiting_approval' : 'advanced';
        inputs = { ...inputs, next: stageSummary(next) };
      }
      break;
    }
    default:
      refuse(release, command, 'unknown command');
  }

  const stepResult: Step = {
    release: next,
    actions,
    decision: {
      kind,
      rule: `command.${command.kind}`,
      actor: command.actor,
      reason: command.reason,
      inputs,
      verdict,
    },
  };
  return finish(ctx, release, [{ step: stepResult, from: state, stageIndex: next.stageIndex }], at);
}
