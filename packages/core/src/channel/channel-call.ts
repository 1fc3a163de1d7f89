/**
 * A recorded call of the channel core: which function (`decideChannel`, `createChannel`, the
 * revocation record, `applyReleaseResult`) ran on which inputs at which time. The server runs
 * every channel decision as a call (`runChannelCall`), stores the call content-addressed as the
 * decision's context and stamps its digest into the drafts it records (`inputs.context`), so
 * channel-only decisions — pins, floors and other configuration, rollback authorizations,
 * revocations — replay like release decisions: `replayChannelCall` runs the stored call again.
 *
 * Invariants: pure; a call is plain JSON (times are RFC 3339 strings), so its JCS bytes are its
 * identity (`channelCallDigest`); `stampChannelCall` gives `inputs.context` only to drafts that do
 * not carry one (a release step's own drafts already name the release context they were decided
 * on), and `replayChannelCall` returns exactly the drafts that name the call, so a record
 * replays to its digest when neither the call nor the rules changed.
 */
import { canonicalBytes } from '../canonical-json.ts';
import { digestOf } from '../digest.ts';
import { LockgateError } from '../errors.ts';
import { isoOf, toMillis } from '../release/instant.ts';
import type { Instant } from '../release/instant.ts';
import type { DecideResult } from '../release/release-state.ts';
import type { ChannelDecision, ChannelDecisionDraft, ChannelPack } from './channel-state.ts';
import type { ChannelState } from './channel-state.ts';
import { createChannel, decideChannel, revocationDraft } from './decide-channel.ts';
import type { ChannelEvent, NewChannelInput } from './decide-channel.ts';
import { applyReleaseResult } from './release-changes.ts';

export const CHANNEL_CALL_SCHEMA = 'lockgate.channel-call/v1';

/** The revocation record's inputs (core `revocationDraft`), without the time. */
export interface RevocationInput {
  pack: ChannelPack;
  reason: string;
  actor: string;
  channels: { env: string; name: string }[];
}

export type ChannelCall = { schema: typeof CHANNEL_CALL_SCHEMA; now: string } & (
  | { fn: 'decideChannel'; state: ChannelState; event: ChannelEvent }
  | { fn: 'createChannel'; input: NewChannelInput }
  | { fn: 'revocation'; input: RevocationInput }
  | {
      fn: 'applyReleaseResult';
      state: ChannelState;
      result: DecideResult;
      authorizationId: string;
    }
);

type CallBody<F extends ChannelCall['fn']> = Omit<
  Extract<ChannelCall, { fn: F }>,
  'schema' | 'now'
>;

/** A call of `fn` at `now` (the time as its canonical RFC 3339 string). */
export function channelCall<F extends ChannelCall['fn']>(
  body: CallBody<F> & { fn: F },
  now: Instant,
): Extract<ChannelCall, { fn: F }> {
  // plain JSON from here on: what is stored is what is replayed
  const json = JSON.parse(JSON.stringify(body)) as CallBody<F>;
  return { schema: CHANNEL_CALL_SCHEMA, now: isoOf(toMillis(now)), ...json } as unknown as Extract<
    ChannelCall,
    { fn: F }
  >;
}

export function isChannelCall(value: unknown): value is ChannelCall {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { schema?: unknown }).schema === CHANNEL_CALL_SCHEMA
  );
}

/** `sha256:` + hex SHA-256 of the call's JCS bytes: the `inputs.context` its drafts carry. */
export function channelCallDigest(call: ChannelCall): string {
  return digestOf(canonicalBytes(call));
}

/** A call that decides on a channel's state (every kind but the revocation record). */
export type ChannelStateCall = Exclude<ChannelCall, { fn: 'revocation' }>;

/** Runs the call's function (throws what it throws). */
export function runChannelCall(call: ChannelStateCall): ChannelDecision {
  switch (call.fn) {
    case 'decideChannel':
      return decideChannel(call.state, call.event, call.now);
    case 'createChannel':
      return createChannel(call.input, call.now);
    case 'applyReleaseResult':
      return applyReleaseResult(call.state, call.result, call.now, call.authorizationId);
    default:
      throw new LockgateError(
        'BAD_REQUEST',
        `A channel call of ${String((call as { fn?: unknown }).fn)} cannot be run.`,
      );
  }
}

/** The drafts a call returns, unstamped. */
export function channelCallDrafts(call: ChannelCall): ChannelDecisionDraft[] {
  return call.fn === 'revocation'
    ? [revocationDraft({ ...call.input, now: call.now })]
    : runChannelCall(call).drafts;
}

/** The drafts, each without a context naming `digest` (see the file header). */
export function stampChannelCall(
  drafts: readonly ChannelDecisionDraft[],
  digest: string,
): ChannelDecisionDraft[] {
  return drafts.map((draft) =>
    typeof draft.inputs['context'] === 'string'
      ? draft
      : { ...draft, inputs: { ...draft.inputs, context: digest } },
  );
}

/** The drafts the current core returns for a recorded call: those naming the call, in order. */
export function replayChannelCall(call: ChannelCall): ChannelDecisionDraft[] {
  const digest = channelCallDigest(call);
  return stampChannelCall(channelCallDrafts(call), digest).filter(
    (draft) => draft.inputs['context'] === digest,
  );
}
