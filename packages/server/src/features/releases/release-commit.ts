import { channelCall, LockgateError } from '@lockgate/core';
import type { DecideResult, ReleaseContext, ReleaseState } from '@lockgate/core';
import type { StoresOf } from '../../stores.ts';
import type { SignedIndex, StoredChannel } from '../channels/public.ts';
import { commitLockedChannel, newRollbackAuthorizationId } from '../decisions/public.ts';
import { recordReleaseEvidence } from '../evidence/public.ts';
import type { ChannelRows, DecisionRecord } from '../decisions/public.ts';
import type { IndexSigningKey } from '../server-keys/public.ts';

/** The stores this module uses, and no others. */
type UsedStores = StoresOf<
  | 'channels'
  | 'contexts'
  | 'decisions'
  | 'environments'
  | 'log'
  | 'packs'
  | 'releases'
  | 'revocations'
  | 'serverKeys'
  | 'targets'
  | 'webhooks'
  | 'statements'
>;

export interface ReleaseChangeOptions {
  /** the release's channel, locked by the caller in this transaction */
  channel: StoredChannel;
  now: Date;
  /** the controller that decided; null for operator commands */
  holder: string | null;
  key: IndexSigningKey;
  /** the context core decided `result` on; stored with its records (replay) */
  context: ReleaseContext;
  /** the channel's rows, when the caller read them under the lock for the context */
  rows?: ChannelRows;
}

export interface CommittedReleaseChange {
  release: ReleaseState;
  records: DecisionRecord[];
  /** the channel's new index when the actions changed what it holds, else null */
  index: SignedIndex | null;
}

/**
 * Commits the result of core decide/applyCommand inside the caller's transaction, on the commit
 * road (decisions/commit-road.ts): core `applyReleaseResult` applies the actions to the channel
 * (setRollout, clearRollout, rollback, setBase, setLkg; an ended release frees the channel) and
 * grants the rollback authorizations a rollback needs; the road stores that, records the release's
 * drafts and the grants (hash-chained) with the context they were decided on, and saves the
 * release when its stored version is still `before.version` (VERSION_CONFLICT when another
 * writer saved it first: the caller's transaction rolls back, nothing is written); it re-signs
 * the channel index when the actions changed it. Returns null when there was nothing to commit.
 */
export async function commitReleaseChange(
  tx: UsedStores,
  before: ReleaseState,
  result: DecideResult,
  options: ReleaseChangeOptions,
): Promise<CommittedReleaseChange | null> {
  if (result.decisions.length === 0) return null;
  const { channel, now, holder, key, context, rows } = options;
  const road = { now, key, holder, context, ...(rows === undefined ? {} : { rows }) };
  const committed = await commitLockedChannel(tx, channel, road, (state) => ({
    call: channelCall(
      { fn: 'applyReleaseResult', state, result, authorizationId: newRollbackAuthorizationId() },
      now,
    ),
    value: result.release,
    // saved with the channel and the records (one statement on PostgreSQL), when its stored
    // version is still the one decided on
    writes: [
      {
        query: tx.releases.saveIfVersionPart(result.release, before.version, now.toISOString()),
        refused: () =>
          new LockgateError(
            'VERSION_CONFLICT',
            `Release ${before.id} changed while the change was committed; retry.`,
            { details: { id: before.id, version: before.version } },
          ),
      },
    ],
  }));
  if (committed === null) return null;
  // The stage attestation and the seal follow the release's own records (features/evidence).
  const evidence = await recordReleaseEvidence(tx, before, committed.value, now, holder);
  return {
    release: committed.value,
    records: [...committed.records, ...evidence],
    index: committed.index,
  };
}
