/**
 * Release state, the context `decide` reads, the actions it asks the shell to apply and the
 * decision drafts it returns (one per state change).
 *
 * States: requested → verifying → rolling ⇄ paused → completed, or the terminal rolled_back,
 * aborted, failed. `failed` means verification refused the pack before anything was rolled out;
 * only the `retry` command reopens it (verification runs again).
 */
import { LockgateError } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';
import type { EligibilityReason } from '../eligibility.ts';
import type { FreezeWindow, ReleaseSchedule } from './freeze.ts';
import { scheduleProblems } from './freeze.ts';
import type { TargetReport } from './health-gate.ts';
import type { Pin, RollbackAuthorization } from './pin.ts';
import { validatePlan } from './plan.ts';
import type { Cohort, TargetRef } from './selector.ts';
import type { Plan } from './plan.ts';
import type { PrometheusAnswer } from './prometheus-gate.ts';
import type { StageMeasures } from './stage-rollup.ts';

export type ReleaseStatus =
  | 'requested'
  | 'verifying'
  | 'rolling'
  | 'paused'
  | 'completed'
  | 'rolled_back'
  | 'aborted'
  | 'failed';

/** Every release state, in lifecycle order. */
export const RELEASE_STATES: readonly ReleaseStatus[] = [
  'requested',
  'verifying',
  'rolling',
  'paused',
  'completed',
  'rolled_back',
  'aborted',
  'failed',
];

export const TERMINAL_STATES: readonly ReleaseStatus[] = [
  'completed',
  'rolled_back',
  'aborted',
  'failed',
];

export function isTerminal(state: ReleaseStatus): boolean {
  return TERMINAL_STATES.includes(state);
}

export interface Approval {
  stage: number;
  actor: string;
  at: string;
}

export interface Reason {
  code?: ErrorCode;
  message: string;
}

export interface ReleaseOutcome {
  at: string;
  summary: string;
  reasons: Reason[];
  /** for rolled_back: the pack the channel returned to (null: the rollout was cleared, base kept) */
  rollbackTo?: string | null;
}

export interface ReleaseState {
  id: string;
  env: string;
  channel: string;
  /** the pack digest being released */
  pack: string;
  packSequence: number;
  /** what the channel ran before (its base); may be null */
  basePack: string | null;
  plan: Plan;
  state: ReleaseStatus;
  stageIndex: number;
  /** when the current stage started; null while it waits (approvals, freeze) */
  stageStartedAt: string | null;
  /** who moved the release into the current stage: 'controller' or an operator */
  stageEnteredBy?: string;
  approvals: Approval[];
  requestedBy: string;
  reason: string;
  schedule?: ReleaseSchedule;
  pausedReason?: string;
  /** id of the freeze window whose block was last recorded (so it is recorded once) */
  blockedBy?: string;
  outcome?: ReleaseOutcome;
  version: number;
}

export interface ChannelContext {
  pins: Pin[];
  lkg: string | null;
  /** the pack the channel runs outside the rollout, or null */
  base: string | null;
  floor: number | null;
  revoked: string[];
  constraints: Record<string, string>;
  rollbackAuthorizations: RollbackAuthorization[];
  /** the sequence of every pack the channel names (base, LKG, pins) */
  packs: Record<string, { sequence: number }>;
  /** the channel's cohorts, which stages name */
  cohorts: Cohort[];
}

export interface PackContext {
  digest: string;
  sequence: number;
  eligible: boolean;
  eligibilityReasons: EligibilityReason[];
  requires: Record<string, string>;
  evidenceComplete: boolean;
}

/** Everything `decide` reads besides `now`, loaded by the controller in one go. */
export interface ReleaseContext {
  release: ReleaseState;
  channel: ChannelContext;
  pack: PackContext;
  /** the channel's reports of the gate window; empty when `measures` stand for them */
  reports: TargetReport[];
  /**
   * the stage's gates and refusals measured from a stage rollup at `now` (stage-rollup.ts),
   * read instead of the reports; absent in contexts decided on the reports
   */
  measures?: StageMeasures;
  /** ids of the targets currently in the stage */
  stageTargets: string[];
  /** the channel's targets (id and labels): who a stage can reach */
  targets: TargetRef[];
  freezeWindows: FreezeWindow[];
  /** what Prometheus answered to the stage's prometheus gates, fetched by the shell */
  prometheus?: PrometheusAnswer[];
}

/** What the shell must apply (idempotently) to the channel after saving the release. */
export type ReleaseAction =
  | {
      kind: 'setRollout';
      release: string;
      pack: string;
      stageIndex: number;
      stage: string;
      /** the percent the rollout reaches: the stage's, raised so it reaches ≥ 1 target (reachPercent) */
      percent: number;
      /** the name of the channel cohort the stage is restricted to, or null for the channel */
      cohort: string | null;
    }
  | { kind: 'clearRollout'; release: string }
  /** clear the rollout and make `to` the channel's base */
  | { kind: 'rollback'; release: string; pack: string; to: string }
  | { kind: 'setBase'; release: string; pack: string }
  | { kind: 'setLkg'; release: string; pack: string };

export type DecisionKind =
  | 'schedule'
  | 'freeze'
  | 'verification'
  | 'approval'
  | 'stage'
  | 'health'
  | 'completion'
  | 'command';

/** A decision record before the log gives it a sequence number; JSON only. */
export interface DecisionDraft {
  release: string;
  at: string;
  kind: DecisionKind;
  /** the rule that fired, e.g. 'gate.failed', or 'command.pause' */
  rule: string;
  /** 'controller' or the principal of a command */
  actor: string;
  reason: string | null;
  from: ReleaseStatus;
  to: ReleaseStatus;
  stageIndex: number;
  inputs: Record<string, unknown>;
  verdict: string;
}

export interface DecideResult {
  release: ReleaseState;
  actions: ReleaseAction[];
  decisions: DecisionDraft[];
}

export type CommandKind =
  'pause' | 'resume' | 'abort' | 'promote' | 'approve' | 'reject' | 'retry' | 'rollback';

export const COMMAND_KINDS: readonly CommandKind[] = [
  'pause',
  'resume',
  'abort',
  'promote',
  'approve',
  'reject',
  'retry',
  'rollback',
];

export interface ReleaseCommand {
  kind: CommandKind;
  actor: string;
  reason: string;
  /** promote only: go straight to the last (100%) stage */
  full?: boolean;
}

export interface NewReleaseInput {
  id: string;
  env: string;
  channel: string;
  pack: string;
  packSequence: number;
  basePack: string | null;
  plan: unknown;
  requestedBy: string;
  reason: string;
  schedule?: unknown;
  /** names of the channel's cohorts, to check the plan's stage cohorts */
  cohorts?: readonly string[];
}

/** A new release in `requested`, with its plan and schedule checked. */
export function newRelease(input: NewReleaseInput): ReleaseState {
  const problems: string[] = [];
  for (const field of ['id', 'env', 'channel', 'pack', 'requestedBy', 'reason'] as const) {
    if (typeof input[field] !== 'string' || input[field].trim() === '') {
      problems.push(`${field} must be a non-empty string`);
    }
  }
  if (!Number.isSafeInteger(input.packSequence) || input.packSequence < 0) {
    problems.push('packSequence must be an integer ≥ 0');
  }
  if (input.schedule !== undefined) problems.push(...scheduleProblems(input.schedule));
  if (problems.length > 0) {
    throw new LockgateError('VALIDATION_FAILED', `The release is malformed: ${problems[0]}.`, {
      details: { problems },
    });
  }
  const plan =
    input.cohorts === undefined
      ? validatePlan(input.plan)
      : validatePlan(input.plan, { cohorts: input.cohorts });
  const release: ReleaseState = {
    id: input.id,
    env: input.env,
    channel: input.channel,
    pack: input.pack,
    packSequence: input.packSequence,
    basePack: input.basePack,
    plan,
    state: 'requested',
    stageIndex: 0,
    stageStartedAt: null,
    approvals: [],
    requestedBy: input.requestedBy,
    reason: input.reason,
    version: 0,
  };
  if (input.schedule !== undefined)
    release.schedule = structuredClone(input.schedule as ReleaseSchedule);
  return release;
}
