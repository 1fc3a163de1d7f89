/**
 * Granting a rollback authorization: at most one unexpired authorization per pack in a channel.
 *
 * Granting one for a pack that already has an unexpired authorization never adds a second (and so
 * never a second entry in the signed index):
 * - the existing one lasts at least as long → it is kept unchanged ('unchanged'; nothing to
 *   record, nothing to re-sign);
 * - it expires sooner → its expiry moves to the later time, with the new reason and actor, under
 *   the same id ('extended');
 * - there is none → a new one is added under the given id ('granted').
 * Expired authorizations stay in the state as history; they never reach the index.
 */
import { isUnexpired } from '../release/pin.ts';
import type { Instant } from '../release/instant.ts';
import { isoOf, toMillis } from '../release/instant.ts';
import type { ChannelChange, ChannelRollbackAuthorization, ChannelState } from './channel-state.ts';

export type GrantOutcome = 'granted' | 'extended' | 'unchanged';

export interface RollbackGrant {
  state: ChannelState;
  changes: ChannelChange[];
  authorization: ChannelRollbackAuthorization;
  outcome: GrantOutcome;
  /** the expiry before an extension; null otherwise */
  previousExpiresAt: string | null;
}

/** The channel's unexpired authorizations at `now`, in the order the channel holds them. */
export function activeRollbackAuthorizations(
  state: Pick<ChannelState, 'rollbackAuthorizations'>,
  now: Instant,
): ChannelRollbackAuthorization[] {
  return state.rollbackAuthorizations.filter((a) => isUnexpired(a.expiresAt, now));
}

/** Grants, extends or keeps the channel's authorization for the pack (see the file header). */
export function grantRollbackAuthorization(
  state: ChannelState,
  input: { pack: string; reason: string; actor: string; expiresAt: string },
  now: Instant,
  id: string,
): RollbackGrant {
  const same = activeRollbackAuthorizations(state, now)
    .filter((a) => a.pack === input.pack)
    .sort((a, b) => Date.parse(b.expiresAt) - Date.parse(a.expiresAt));
  const existing = same[0];
  if (existing !== undefined) {
    if (Date.parse(existing.expiresAt) >= Date.parse(input.expiresAt)) {
      return {
        state,
        changes: [],
        authorization: existing,
        outcome: 'unchanged',
        previousExpiresAt: null,
      };
    }
    const extended: ChannelRollbackAuthorization = {
      ...existing,
      reason: input.reason,
      actor: input.actor,
      expiresAt: input.expiresAt,
    };
    return {
      state: {
        ...state,
        rollbackAuthorizations: state.rollbackAuthorizations.map((a) =>
          a.id === existing.id ? extended : a,
        ),
      },
      changes: [{ kind: 'updateRollbackAuthorization', authorization: extended }],
      authorization: extended,
      outcome: 'extended',
      previousExpiresAt: existing.expiresAt,
    };
  }
  const authorization: ChannelRollbackAuthorization = {
    id,
    pack: input.pack,
    reason: input.reason,
    actor: input.actor,
    createdAt: isoOf(toMillis(now)),
    expiresAt: input.expiresAt,
  };
  return {
    state: { ...state, rollbackAuthorizations: [...state.rollbackAuthorizations, authorization] },
    changes: [{ kind: 'insertRollbackAuthorization', authorization }],
    authorization,
    outcome: 'granted',
    previousExpiresAt: null,
  };
}
