import { isTerminal, stageRollout } from '@lockgate/core';
import type { DecideResult, ReleaseAction, ReleaseState } from '@lockgate/core';
import type { Stores } from '../../stores.ts';
import { resignChannelIndex } from '../channels/channel-index.ts';
import type { SignedIndex, StoredChannel } from '../channels/channel-store.ts';
import { grantRollbackAuthorization } from '../channels/rollback-authorization.ts';
import { appendDecisions, releaseDecision } from '../decisions/decision-log.ts';
import { recordReleaseEvidence } from '../evidence/release-evidence.ts';
import type { DecisionRecord } from '../decisions/decision-store.ts';
import type { IndexSigningKey } from '../server-keys/server-key-service.ts';

export interface ReleaseChangeOptions {
  /** the release's channel, locked by the caller in this transaction */
  channel: StoredChannel;
  now: Date;
  /** the controller that decided; null for operator commands */
  holder: string | null;
  key: IndexSigningKey;
}

export interface CommittedReleaseChange {
  release: ReleaseState;
  records: DecisionRecord[];
  /** the channel's new index when the actions changed what it holds, else null */
  index: SignedIndex | null;
}

/**
 * Commits the result of core decide/applyCommand inside the caller's transaction: saves the
 * release when its stored version is still `before.version`, appends one decision record per
 * draft (hash-chained), applies the actions to the channel (setRollout, clearRollout,
 * rollback, setBase, setLkg; an ended release frees the channel) and re-signs the channel index
 * when the actions changed it. Returns null when there was nothing to commit or another writer
 * saved the release first (then nothing is written).
 */
export async function commitReleaseChange(
  tx: Stores,
  before: ReleaseState,
  result: DecideResult,
  options: ReleaseChangeOptions,
): Promise<CommittedReleaseChange | null> {
  if (result.decisions.length === 0) return null;
  const { channel, now, holder, key } = options;
  const at = now.toISOString();
  if (!(await tx.releases.saveIfVersion(result.release, before.version, at))) return null;
  const records = await appendDecisions(
    tx,
    result.decisions.map((draft) =>
      releaseDecision(draft, { env: channel.env, channel: channel.name, holder }),
    ),
  );
  await recordReleaseEvidence(tx, before, result.release, now);
  const actor = result.decisions.at(-1)?.actor ?? channel.updatedBy;
  for (const action of result.actions) {
    applyAction(channel, action);
    // Targets that committed the release's pack go back: to the rollback target, or to the base
    // when a rollback or an abort clears the rollout. Either may be older than what they run.
    const backTo =
      action.kind === 'rollback'
        ? action.to
        : action.kind === 'clearRollout' && isTerminal(result.release.state)
          ? channel.base
          : null;
    if (backTo !== null && backTo !== result.release.pack) {
      const granted = await authorizeRollbackTarget(tx, result.release, backTo, {
        channel,
        now,
        actor,
        holder,
      });
      if (granted !== null) records.push(granted);
    }
  }
  if (isTerminal(result.release.state) && channel.activeRelease === result.release.id) {
    channel.activeRelease = null;
  }
  channel.updatedAt = at;
  channel.updatedBy = actor;
  await tx.channels.save(channel);
  const index = result.actions.length > 0 ? await resignChannelIndex(tx, channel, now, key) : null;
  return { release: result.release, records, index };
}

/** How long the authorization a rollback grants to its target lasts. */
export const ROLLBACK_AUTHORIZATION_SECONDS = 7 * 86_400;

/**
 * A rollback (or an abort) returns targets to an older pack. Agents refuse a pack older than the newest they
 * committed unless the signed index authorizes it, so the rollback grants that authorization
 * (recorded, kind 'rollback_authorization') for ROLLBACK_AUTHORIZATION_SECONDS. Never below the
 * channel floor: that takes an operator's authorization (fail closed).
 */
async function authorizeRollbackTarget(
  tx: Stores,
  release: ReleaseState,
  to: string,
  options: { channel: StoredChannel; now: Date; actor: string; holder: string | null },
): Promise<DecisionRecord | null> {
  const { channel, now, actor, holder } = options;
  const target = await tx.packs.findByDigest(to);
  if (target === null || target.sequence >= release.packSequence) return null;
  if (channel.floor !== null && target.sequence < channel.floor) return null;
  const at = now.toISOString();
  const grant = await grantRollbackAuthorization(
    tx,
    {
      env: channel.env,
      channel: channel.name,
      pack: to,
      reason: `rollback of release ${release.id} from ${release.pack}`,
      actor,
      expiresAt: new Date(now.getTime() + ROLLBACK_AUTHORIZATION_SECONDS * 1000).toISOString(),
    },
    now,
  );
  if (grant.outcome === 'unchanged') return null;
  const { authorization } = grant;
  const [record] = await appendDecisions(tx, [
    {
      release: null,
      env: channel.env,
      channel: channel.name,
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
        floor: channel.floor,
        expiresAt: authorization.expiresAt,
        ...(grant.previousExpiresAt === null ? {} : { previousExpiresAt: grant.previousExpiresAt }),
      },
      verdict: 'authorized',
      holder,
    },
  ]);
  return record ?? null;
}

/** Applies one release action to the channel in place; idempotent. */
export function applyAction(channel: StoredChannel, action: ReleaseAction): void {
  const ownsRollout = channel.rollout === null || channel.rollout.release === action.release;
  switch (action.kind) {
    case 'setRollout':
      channel.rollout = stageRollout(
        {
          release: action.release,
          pack: action.pack,
          percent: action.percent,
          cohort: action.cohort,
        },
        { env: channel.env, channel: channel.name, cohorts: channel.cohorts },
      );
      break;
    case 'clearRollout':
      if (ownsRollout) channel.rollout = null;
      break;
    case 'rollback':
      if (ownsRollout) channel.rollout = null;
      channel.base = action.to;
      break;
    case 'setBase':
      channel.base = action.pack;
      break;
    case 'setLkg':
      channel.lkg = action.pack;
      break;
  }
}
