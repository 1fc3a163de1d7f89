/**
 * Operator commands: `applyCommand(release, command, context, now)` is the pure effect of one
 * command on a release. It returns the next release, its actions and exactly one decision draft
 * (rule `command.<kind>`) carrying the operator's actor and reason.
 *
 * Invariants: pure; a command is checked before anything else (a known kind, a non-empty actor
 * that is not the reserved controller, a non-empty reason, `full` on promote only) and refused
 * whole (VALIDATION_FAILED, RELEASE_STATE_INVALID, APPROVAL_SELF, APPROVAL_DUPLICATE,
 * FREEZE_ACTIVE, ROLLBACK_TARGET_NOT_ALLOWED, ROLLBACK_TARGET_MISSING) rather than applied in
 * part; a requester never approves their own release and an actor approves a stage once; an
 * operator rollback lands only where the channel allows it now, never elsewhere than asked;
 * promote never passes a failing gate or a freeze. Commands do not run the controller's rules:
 * the next `decide` acts on the new state (e.g. starts a stage whose approvals are now in).
 * Each command kind has one handler in `COMMAND_HANDLERS`.
 */
import { LockgateError } from '../errors.ts';
import { activeFreeze } from './freeze.ts';
import { isoOf, toMillis } from './instant.ts';
import type { Instant } from './instant.ts';
import { COMMAND_KINDS, isTerminal } from './release-state.ts';
import type {
  CommandKind,
  DecideResult,
  DecisionKind,
  ReleaseAction,
  ReleaseCommand,
  ReleaseContext,
  ReleaseState,
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
  stageGates,
  stageOf,
  stageSummary,
} from './release-step.ts';
import type { Step, Tick } from './release-step.ts';
import { ALLOW_HINT, planRollback } from './rollback.ts';

/** What a command handler is given: the release, the command, the context and `now`. */
interface CommandInput {
  release: ReleaseState;
  command: ReleaseCommand;
  /** the context, with `release` as its release */
  context: ReleaseContext;
  tick: Tick;
}

/** What a command handler decides: the next release and the rest of its decision draft. */
interface CommandOutcome {
  release: ReleaseState;
  /** none when omitted */
  actions?: ReleaseAction[];
  /** `{}` when omitted */
  inputs?: Record<string, unknown>;
  verdict: string;
  /** `command` when omitted */
  kind?: DecisionKind;
}

/** Applies one command kind, or throws why it cannot be applied. */
type CommandHandler = (input: CommandInput) => CommandOutcome;

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

function isActive(release: ReleaseState): boolean {
  return release.state === 'rolling' || release.state === 'paused';
}

function pause({ release, command }: CommandInput): CommandOutcome {
  if (release.state !== 'rolling') refuse(release, command, 'only a rolling release can be paused');
  return {
    release: moved(release, { state: 'paused', pausedReason: command.reason }),
    verdict: 'paused',
  };
}

function resume({ release, command, tick }: CommandInput): CommandOutcome {
  if (release.state !== 'paused') refuse(release, command, 'only a paused release can be resumed');
  // The stage's soak and progress deadline start again from now.
  return {
    release: moved(release, {
      state: 'rolling',
      stageStartedAt: release.stageStartedAt === null ? null : tick.at,
    }),
    inputs: { pausedReason: release.pausedReason ?? null },
    verdict: 'rolling',
  };
}

/** The release ended by the operator; what was rolled out goes back to the base. */
function aborted(
  { release, command, tick }: CommandInput,
  rest: Pick<CommandOutcome, 'inputs' | 'kind'>,
): CommandOutcome {
  return {
    release: moved(release, {
      state: 'aborted',
      outcome: {
        at: tick.at,
        summary: `${command.kind}ed by ${command.actor}`,
        reasons: [{ message: command.reason }],
      },
    }),
    actions: rolledOut(release) ? [{ kind: 'clearRollout', release: release.id }] : [],
    verdict: 'aborted',
    ...rest,
  };
}

function abort(input: CommandInput): CommandOutcome {
  const { release, command } = input;
  if (isTerminal(release.state)) refuse(release, command, 'the release has ended');
  return aborted(input, {});
}

function reject(input: CommandInput): CommandOutcome {
  const { release, command } = input;
  if (isTerminal(release.state)) refuse(release, command, 'the release has ended');
  const stage = approvalStageOf(release);
  if (stage === null || (stageOf(release, stage).approvals ?? 0) === 0) {
    refuse(release, command, 'no stage awaits approval');
  }
  return aborted(input, { inputs: { stage: stageSummary(release, stage) }, kind: 'approval' });
}

function approve({ release, command, tick }: CommandInput): CommandOutcome {
  if (isTerminal(release.state)) refuse(release, command, 'the release has ended');
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
  const next = {
    ...release,
    approvals: [...release.approvals, { stage, actor: command.actor, at: tick.at }],
  };
  const approvers = approversOf(next, stage);
  return {
    release: next,
    inputs: { stage: stageSummary(release, stage), approvers, approvalsNeeded: need },
    verdict: approvers.length >= need ? 'approvals_met' : 'approval_recorded',
    kind: 'approval',
  };
}

function retry({ release, command }: CommandInput): CommandOutcome {
  if (release.state !== 'failed') refuse(release, command, 'only a failed release can be retried');
  const next = moved(release, { state: 'requested', stageIndex: 0, stageStartedAt: null });
  delete next.outcome;
  return {
    release: next,
    inputs: { previousOutcome: release.outcome ?? null },
    verdict: 'requested',
  };
}

function rollback({ release, command, context, tick }: CommandInput): CommandOutcome {
  if (!isActive(release)) {
    refuse(release, command, 'only a rolling or paused release can be rolled back');
  }
  const { to, blocked, refused, inputs } = planRollback(context.channel, release.pack, tick.at);
  if (blocked !== null || (to === null && refused.length > 0)) {
    // The pin or LKG exists but the channel does not allow it now (the operator asked for
    // it, so landing elsewhere would not be what was asked): refuse, saying what allows it.
    const why =
      blocked ?? `${refused.join('; ')}; ${ALLOW_HINT}, or abort the release to return to the base`;
    throw new LockgateError(
      'ROLLBACK_TARGET_NOT_ALLOWED',
      `Release ${release.id} cannot be rolled back: ${why}.`,
      { details: { release: release.id, ...inputs } },
    );
  }
  if (to === null) {
    throw new LockgateError(
      'ROLLBACK_TARGET_MISSING',
      `Channel ${release.env}/${release.channel} has no pin or last-known-good pack to roll back to.`,
      {
        details: { release: release.id, ...inputs },
      },
    );
  }
  return {
    release: moved(release, {
      state: 'rolled_back',
      outcome: {
        at: tick.at,
        summary: `rolled back by ${command.actor}`,
        reasons: [{ message: command.reason }],
        rollbackTo: to,
      },
    }),
    actions: [{ kind: 'rollback', release: release.id, pack: release.pack, to }],
    inputs: { rollback: inputs },
    verdict: 'rolled_back',
  };
}

function promote({ release, command, context, tick }: CommandInput): CommandOutcome {
  if (!isActive(release)) {
    refuse(release, command, 'only a rolling or paused release can be promoted');
  }
  if (release.stageStartedAt === null) {
    refuse(release, command, `stage ${release.stageIndex} awaits approvals`);
  }
  const freeze = activeFreeze(context.freezeWindows, tick.at);
  if (freeze !== null) {
    throw new LockgateError(
      'FREEZE_ACTIVE',
      `Freeze window ${freeze.freeze.id} is in effect until ${freeze.until}: ${freeze.freeze.reason}.`,
      {
        details: { release: release.id, freeze: freeze.freeze.id, until: freeze.until },
      },
    );
  }
  const gates = stageGates(context, release, tick);
  const failing = gates.filter((g) => g.verdict === 'fail');
  if (failing.length > 0) {
    refuse(release, command, `gate ${failing.map((g) => g.metric).join(', ')} fails`);
  }
  const lastIndex = release.plan.stages.length - 1;
  const inputs = { stage: stageSummary(release), gates, full: command.full === true };
  if (release.stageIndex === lastIndex) {
    return {
      release: completion(release, tick.at, `promoted by ${command.actor}`),
      actions: completionActions(release),
      inputs,
      verdict: 'completed',
    };
  }
  const entered = enterStage(
    context,
    release,
    command.full === true ? lastIndex : release.stageIndex + 1,
    tick.at,
    command.actor,
  );
  return {
    release: entered.release,
    actions: entered.actions,
    inputs: { ...inputs, next: stageSummary(entered.release) },
    verdict: entered.release.stageStartedAt === null ? 'awaiting_approval' : 'advanced',
  };
}

/** One handler per command kind. */
const COMMAND_HANDLERS: Readonly<Record<CommandKind, CommandHandler>> = {
  pause,
  resume,
  abort,
  promote,
  approve,
  reject,
  retry,
  rollback,
};

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
  const tick: Tick = { nowMs, at: isoOf(nowMs) };
  const ctx: ReleaseContext = { ...context, release };
  const handler = Object.hasOwn(COMMAND_HANDLERS, command.kind)
    ? COMMAND_HANDLERS[command.kind]
    : undefined;
  if (handler === undefined) refuse(release, command, 'unknown command');
  const outcome = handler({ release, command, context: ctx, tick });
  const step: Step = {
    release: outcome.release,
    actions: outcome.actions ?? [],
    decision: {
      kind: outcome.kind ?? 'command',
      rule: `command.${command.kind}`,
      actor: command.actor,
      reason: command.reason,
      inputs: outcome.inputs ?? {},
      verdict: outcome.verdict,
    },
  };
  return finish(
    ctx,
    release,
    [{ step, from: release.state, stageIndex: outcome.release.stageIndex }],
    tick.at,
  );
}
