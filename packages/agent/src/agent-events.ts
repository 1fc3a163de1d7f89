/**
 * The agent's vocabulary towards its caller: the events it emits, what one sync did and what
 * start-up recovery found. Types only; the machine (agent-machine.ts) decides which one
 * happens, the shell (agent.ts) emits and returns them.
 */
import type { Digest } from '@lockgate/core';
import type { AttemptCode } from './agent-codes.ts';
import type { AgentState } from './agent-state.ts';

export interface VerifiedEvent {
  pack: Digest;
  name: string;
  version: string;
  sequence: number;
}

export interface ActivatedEvent {
  pack: Digest;
  previous: Digest | null;
  deadline: string;
}

export interface CommittedEvent {
  pack: Digest;
}

export interface RevertedEvent {
  /** the pack whose trial failed */
  pack: Digest;
  /** what runs now */
  to: Digest | null;
  code: AttemptCode;
  reason: string;
}

export interface RejectedEvent {
  /** the refused pack, or null for a refused channel index */
  pack: Digest | null;
  stage: 'index' | 'pack';
  code: AttemptCode;
  message: string;
}

export interface RepairedEvent {
  /** the active pack, whose files no longer verified and were restored from a verified copy */
  pack: Digest;
  /** what the check found (PACK_FILE_HASH_MISMATCH, PACK_FILE_MISSING, ...) */
  code: AttemptCode;
  message: string;
}

export interface WarningEvent {
  code: string;
  message: string;
}

/** The agent's events and their arguments. */
export interface AgentEventMap {
  verified: [VerifiedEvent];
  activated: [ActivatedEvent];
  committed: [CommittedEvent];
  reverted: [RevertedEvent];
  rejected: [RejectedEvent];
  repaired: [RepairedEvent];
  /** something went wrong that changes nothing (server unreachable, report not sent) */
  warning: [WarningEvent];
}

/** One event as data: its name and its argument. */
export type AgentEvent = {
  [K in keyof AgentEventMap]: { name: K; event: AgentEventMap[K][0] };
}[keyof AgentEventMap];

/** What one sync did. */
export type SyncOutcome =
  | { kind: 'offline'; message: string }
  | { kind: 'index-rejected'; code: AttemptCode; message: string }
  | { kind: 'up-to-date'; pack: Digest | null; indexVersion: number }
  | { kind: 'skipped'; pack: Digest; code: string; indexVersion: number }
  | { kind: 'superseded'; pack: Digest; indexVersion: number }
  | { kind: 'rejected'; pack: Digest; code: AttemptCode; message: string }
  | { kind: 'committed'; pack: Digest }
  | { kind: 'reverted'; pack: Digest; to: Digest | null; code: AttemptCode }
  | { kind: 'revert-failed'; pack: Digest; code: AttemptCode }
  | { kind: 'interrupted'; pack: Digest };

/** What start-up recovery found and did. */
export interface RecoveryResult {
  /** the pack `current` points at afterwards */
  active: Digest | null;
  /** how an interrupted trial ended, when there was one */
  trial: SyncOutcome | null;
  /** the code when the active pack no longer verified */
  activeFailed: AttemptCode | null;
}

/** A read-only view of the agent. */
export interface AgentStatus {
  state: AgentState;
  indexVersion: number | null;
  running: boolean;
}
