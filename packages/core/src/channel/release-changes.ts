/**
 * The channel side of a release step: `applyReleaseResult(state, result, now, authorizationId)`
 * applies the actions `decide` / `applyCommand` returned (setRollout, clearRollout, rollback,
 * setBase, setLkg) to the channel and decides the rollback authorizations they grant, returning
 * the channel decision the server commits after saving the release.
 *
 * Invariants: pure; applying the same actions twice gives the same channel (each action is
 * idempotent, and a rollout is cleared only by the release that owns it); the release's drafts
 * come first, in order, then one draft per authorization granted or extended; an ended release
 * frees the channel; the index is re-signed exactly when there was an action.
 *
 * Authorizations: a rollback (or an abort that clears the rollout) returns targets to an older
 * pack, and agents refuse a pack older than the newest they committed unless the signed index
 * authorizes it, so the step grants that authorization for ROLLBACK_AUTHORIZATION_SECONDS
 * (rule rollback_authorization.granted_by_rollback). Never for a pack below the channel floor:
 * that takes an operator's authorization (fail closed).
 */
import { LockgateError } from '../errors.ts';
import { stageRollout } from '../release/channel-index.ts';
import { isoOf, toMillis } from '../release/instant.ts';
import type { Instant } from '../release/instant.ts';
import { isTerminal } from '../release/release-state.ts';
import type {
  DecideResult,
  DecisionDraft,
  ReleaseAction,
  ReleaseState,
} from '../release/release-state.ts';
import type {
  ChannelChange,
  ChannelDecision,
  ChannelDecisionDraft,
  ChannelState,
} from './channel-state.ts';
import { grantRollbackAuthorization } from './rollback-grant.ts';

/** How long the authorization a rollback grants to its target lasts. */
export const ROLLBACK_AUTHORIZATION_SECONDS = 7 * 86_400;

/** A core release draft as a draft of its channel's log. */
export function releaseDraft(
  draft: DecisionDraft,
  channel: { env: string; name: string },
): ChannelDecisionDraft {
  return {
    release: draft.release,
    env: channel.env,
    channel: channel.name,
    at: draft.at,
    kind: draft.kind,
    rule: draft.rule,
    actor: draft.actor,
    reason: draft.reason,
    from: draft.from,
    to: draft.to,
    stageIndex: draft.stageIndex,
    inputs: draft.inputs,
    verdict: draft.verdict,
  };
}

/** Applies one release action to the channel; idempotent. */
export function applyReleaseAction(state: ChannelState, action: ReleaseAction): ChannelState {
  const ownsRollout = state.rollout === null || state.rollout.release === action.release;
  switch (action.kind) {
    case 'setRollout':
      return {
        ...state,
        rollout: stageRollout(
          {
            release: action.release,
            pack: action.pack,
            percent: action.percent,
            cohort: action.cohort,
          },
          { env: state.env, channel: state.name, cohorts: state.cohorts },
        ),
      };
    case 'clearRollout':
      return ownsRollout ? { ...state, rollout: null } : state;
    case 'rollback':
      return { ...state, rollout: ownsRollout ? null : state.rollout, base: action.to };
    case 'setBase':
      return { ...state, base: action.pack };
    case 'setLkg':
      return { ...state, lkg: action.pack };
  }
}

/**
 * The channel decision of a release step (see the file header). `result` must carry at least one
 * decision (a step that changed nothing is not committed); `authorizationId` names an
 * authorization the step stores anew (a second one in the same step gets a suffix).
 */
export function applyReleaseResult(
  state: ChannelState,
  result: DecideResult,
  now: Instant,
  authorizationId: string,
): ChannelDecision {
  const last = result.decisions.at(-1);
  if (last === undefined) {
    throw new LockgateError(
      'RELEASE_STATE_INVALID',
      'A release step without a decision has nothing to commit.',
      {
        details: { release: result.release.id },
      },
    );
  }
  const at = isoOf(toMillis(now));
  const { release } = result;
  const actor = last.actor;
  const drafts = result.decisions.map((draft) => releaseDraft(draft, state));
  const changes: ChannelChange[] = [];
  let next = state;
  let granted = 0;
  for (const action of result.actions) {
    next = applyReleaseAction(next, action);
    // Targets that committed the release's pack go back: to the rollback target, or to the base
    // when a rollback or an abort clears the rollout. Either may be older than what they run.
    const backTo =
      action.kind === 'rollback'
        ? action.to
        : action.kind === 'clearRollout' && isTerminal(release.state)
          ? next.base
          : null;
    if (backTo === null || backTo === release.pack) continue;
    const id = granted === 0 ? authorizationId : `${authorizationId}_${granted + 1}`;
    const grant = authorizeRollbackTarget(next, release, backTo, { at, actor, id });
    if (grant === null) continue;
    granted += 1;
    next = grant.state;
    changes.push(...grant.changes);
    drafts.push(grant.draft);
  }
  if (isTerminal(release.state) && next.activeRelease === release.id) {
    next = { ...next, activeRelease: null };
  }
  next = { ...next, updatedAt: at, updatedBy: actor };
  return {
    state: next,
    changes: [...changes, { kind: 'saveChannel' }],
    drafts,
    resign: result.actions.length > 0,
  };
}

function authorizeRollbackTarget(
  state: ChannelState,
  release: ReleaseState,
  to: string,
  options: { at: string; actor: string; id: string },
): { state: ChannelState; changes: ChannelChange[]; draft: ChannelDecisionDraft } | null {
  const { at, actor, id } = options;
  const target = state.packs[to];
  if (target === undefined || target.sequence >= release.packSequence) return null;
  if (state.floor !== null && target.sequence < state.floor) return null;
  const grant = grantRollbackAuthorization(
    state,
    {
      pack: to,
      reason: `rollback of release ${release.id} from ${release.pack}`,
      actor,
      expiresAt: isoOf(toMillis(at) + ROLLBACK_AUTHORIZATION_SECONDS * 1000),
    },
    at,
    id,
  );
  if (grant.outcome === 'unchanged') return null;
  const { authorization } = grant;
  return {
    state: grant.state,
    changes: grant.changes,
    draft: {
      release: null,
      env: state.env,
      channel: state.name,
      at,
      kind: 'rollback_authorization',
      rule: 'rollback_authorization.granted_by_rollback',
      actor,
      reason: authorization.reason,
      from: null,
      to: null,
      stageIndex: null,
      inputs: {
        id: authorization.id,
        release: release.id,
        from: release.pack,
        pack: to,
        sequence: target.sequence,
        floor: state.floor,
        expiresAt: authorization.expiresAt,
        ...(grant.previousExpiresAt === null ? {} : { previousExpiresAt: grant.previousExpiresAt }),
      },
      verdict: 'authorized',
    },
  };
}
