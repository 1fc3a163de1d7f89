/**
 * A channel as the channel core decides on it: its configuration (plan, floor, constraints,
 * cohorts, index TTL), what its index holds (base, LKG, rollout, pins, revocations, rollback
 * authorizations) and the facts about the packs it names. The server loads it with the channel
 * row locked; the core returns the next state, the changes to store and the decision drafts to
 * record (`ChannelDecision`).
 *
 * Invariants of a `ChannelDecision`: `changes` are exactly the differences between the state it
 * was decided on and `state` (the server applies them, nothing else); `drafts` are JSON only;
 * `resign` is true when the signed index must be re-issued (something it carries changed).
 */
import type { Cohort, LabelSelector } from '../release/selector.ts';
import type { ChannelIndexRollout } from '../release/channel-index.ts';
import type { PackFacts } from './pack-refusal.ts';

/** '_' stands for the whole channel in a pin's cohort. */
export const WHOLE_CHANNEL = '_';

/** The configuration an operator sets on a channel. */
export interface ChannelConfig {
  plan: string;
  floor: number | null;
  constraints: Record<string, string>;
  cohorts: Cohort[];
  indexTtlSeconds: number;
}

export interface ChannelPin {
  /** '_' (WHOLE_CHANNEL) or a channel cohort name */
  cohort: string;
  /** the cohort's selector when the pin was set; null for the whole channel */
  selector: LabelSelector | null;
  pack: string;
  reason: string;
  actor: string;
  createdAt: string;
  expiresAt: string;
}

export interface ChannelRollbackAuthorization {
  id: string;
  pack: string;
  reason: string;
  actor: string;
  createdAt: string;
  expiresAt: string;
}

/** A known pack: its facts for the channel rule, and its name and version for messages. */
export interface ChannelPack extends PackFacts {
  sequence: number;
  name: string;
  version: string;
}

export interface ChannelState extends ChannelConfig {
  env: string;
  name: string;
  base: string | null;
  lkg: string | null;
  rollout: ChannelIndexRollout | null;
  activeRelease: string | null;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
  /** every stored pin (an expired one stays until the controller lapses it) */
  pins: ChannelPin[];
  /** every stored authorization (expired ones stay as history and never reach the index) */
  rollbackAuthorizations: ChannelRollbackAuthorization[];
  /** the digests of every revoked pack */
  revoked: string[];
  /** facts about the packs the channel names (base, LKG, rollout, pins, authorizations) */
  packs: Record<string, ChannelPack>;
}

/** What the server stores for a decision; applied in order, in the decision's transaction. */
export type ChannelChange =
  | { kind: 'insertChannel' }
  /** the channel row (configuration, base, LKG, rollout, active release) */
  | { kind: 'saveChannel' }
  | { kind: 'upsertPin'; pin: ChannelPin }
  | { kind: 'deletePin'; cohort: string }
  | { kind: 'insertRollbackAuthorization'; authorization: ChannelRollbackAuthorization }
  | { kind: 'updateRollbackAuthorization'; authorization: ChannelRollbackAuthorization }
  | { kind: 'deleteRollbackAuthorization'; id: string };

/** A decision record before the log seals it (the server adds the deciding controller). */
export interface ChannelDecisionDraft {
  release: string | null;
  env: string | null;
  channel: string | null;
  at: string;
  kind: string;
  rule: string;
  actor: string;
  reason: string | null;
  from: string | null;
  to: string | null;
  stageIndex: number | null;
  inputs: Record<string, unknown>;
  verdict: string;
}

export interface ChannelDecision {
  state: ChannelState;
  changes: ChannelChange[];
  drafts: ChannelDecisionDraft[];
  /** true when the signed index must be re-issued */
  resign: boolean;
}

/** The configuration part of a channel. */
export function configOf(channel: ChannelConfig): ChannelConfig {
  return {
    plan: channel.plan,
    floor: channel.floor,
    constraints: channel.constraints,
    cohorts: channel.cohorts,
    indexTtlSeconds: channel.indexTtlSeconds,
  };
}

/** A decision draft about a channel (no release, no release state change). */
export function channelDraft(
  channel: { env: string; name: string },
  at: string,
  fields: Pick<ChannelDecisionDraft, 'kind' | 'rule' | 'actor' | 'reason' | 'verdict' | 'inputs'>,
): ChannelDecisionDraft {
  return {
    release: null,
    env: channel.env,
    channel: channel.name,
    at,
    kind: fields.kind,
    rule: fields.rule,
    actor: fields.actor,
    reason: fields.reason,
    from: null,
    to: null,
    stageIndex: null,
    inputs: fields.inputs,
    verdict: fields.verdict,
  };
}
