/**
 * The rollback preview: what taking a release back would do, decided by the same core functions
 * as the real thing, on what the database holds now, without writing anything.
 *
 * - scope `rollback` (a rolling or paused release): core `applyCommand` rollback on the release
 *   context the command would read, then `applyReleaseResult` on the channel state; a refusal
 *   (ROLLBACK_TARGET_NOT_ALLOWED, ROLLBACK_TARGET_MISSING, RELEASE_STATE_INVALID) is reported,
 *   not thrown.
 * - scope `pin` (any release; how a completed one is taken back): core `decideChannel` `pin.set`
 *   of a whole-channel pin of the chosen pack (the channel's LKG when none is named), so the
 *   refusals are the channel rule's (`packRefusals`: revoked, unknown, incompatible, below the
 *   floor without an authorization).
 *
 * The impact is core `indexImpact` between the channel's current signed index and the index the
 * decision would sign (built by core `buildChannelIndex` from the decided channel state, pins in
 * index order), over every target registered in the channel.
 */
import {
  applyCommand,
  applyReleaseResult,
  buildChannelIndex,
  decideChannel,
  indexImpact,
  isLockgateError,
  LockgateError,
  WHOLE_CHANNEL,
} from '@lockgate/core';
import type { ChannelState, IndexPackInfo } from '@lockgate/core';
import type { RollbackPreviewResponse, RollbackScope } from '@lockgate/api';
import type { BlobStore } from '../../blob-store.ts';
import type { StoresOf } from '../../stores.ts';
import { indexPayloadOf, indexPins } from '../channels/public.ts';
import { findChannel } from '../channels/public.ts';
import { loadChannelState, namedPackOf } from '../decisions/public.ts';
import { findPackByRef } from '../packs/public.ts';
import { loadReleaseContext } from './release-context.ts';

/** The stores this module uses, and no others. */
type UsedStores = StoresOf<
  | 'builds'
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
  | 'trust'
  | 'webhooks'
  | 'statements'
>;

/** How long the previewed pin lasts: only whether it is unexpired now matters to the preview. */
const PREVIEW_PIN_SECONDS = 7 * 86_400;
const PREVIEW_ID = 'preview';

export async function previewRollback(
  stores: UsedStores,
  blobs: BlobStore,
  input: { id: string; scope: RollbackScope; to?: string; actor: string; now: Date },
): Promise<RollbackPreviewResponse> {
  const { id, scope, actor, now } = input;
  const tx = stores;
  const stored = await tx.releases.find(id);
  if (stored === null) {
    throw new LockgateError('RELEASE_NOT_FOUND', `No release has id ${id}.`, { details: { id } });
  }
  const { release } = stored;
  const channel = await findChannel(tx, release.env, release.channel);
  const state = await loadChannelState(tx, channel);
  const current = indexPayloadOf(channel.indexEnvelope);
  const refusals: { code: string; message: string }[] = [];
  let proposed: ChannelState = state;
  let to: string | null = null;
  try {
    if (scope === 'rollback') {
      const context = await loadReleaseContext(tx, blobs, release, channel, now);
      const result = applyCommand(
        release,
        { kind: 'rollback', actor, reason: 'rollback preview' },
        context,
        now,
      );
      proposed = applyReleaseResult(state, result, now, PREVIEW_ID).state;
      to = result.release.outcome?.rollbackTo ?? null;
    } else {
      const ref = input.to ?? state.lkg;
      if (ref === null) {
        throw new LockgateError(
          'ROLLBACK_TARGET_MISSING',
          `Channel ${state.env}/${state.name} has no last-known-good pack; choose a pack.`,
          { details: { env: state.env, channel: state.name } },
        );
      }
      const pack = namedPackOf(await findPackByRef(tx.packs, ref));
      to = pack.digest;
      proposed = decideChannel(
        state,
        {
          kind: 'pin.set',
          cohort: WHOLE_CHANNEL,
          pack,
          reason: 'rollback preview',
          expiresAt: new Date(now.getTime() + PREVIEW_PIN_SECONDS * 1000).toISOString(),
          actor,
          authorizationId: PREVIEW_ID,
        },
        now,
      ).state;
    }
  } catch (error) {
    if (!isLockgateError(error)) throw error;
    refusals.push({ code: error.code, message: error.message });
    proposed = state;
  }
  const next = indexOfState(proposed, channel.indexVersion + 1, now);
  const targets = await tx.targets.listRefs(state.env, state.name);
  const impact = indexImpact(current, next, targets, now);
  return {
    release: release.id,
    env: state.env,
    channel: state.name,
    scope,
    to,
    refusals,
    indexVersion: channel.indexVersion,
    at: now.toISOString(),
    ...impact,
  };
}

/** The index the commit road would sign for `state` (same inputs as its re-signing). */
function indexOfState(state: ChannelState, version: number, now: Date) {
  const packs: Record<string, IndexPackInfo> = {};
  for (const [digest, pack] of Object.entries(state.packs)) {
    packs[digest] = { name: pack.name, version: pack.version, sequence: pack.sequence };
  }
  const channel = { env: state.env, name: state.name, cohorts: state.cohorts };
  return buildChannelIndex({
    env: state.env,
    channel: state.name,
    version,
    issuedAt: now,
    ttlSeconds: state.indexTtlSeconds,
    packs,
    base: state.base,
    rollout: state.rollout,
    pins: indexPins(
      state.pins.map((pin) => ({ ...pin, env: state.env, channel: state.name })),
      channel,
    ),
    floor: state.floor,
    revoked: state.revoked,
    rollbackAuthorizations: state.rollbackAuthorizations.map((a) => ({
      pack: a.pack,
      reason: a.reason,
      expiresAt: a.expiresAt,
    })),
  });
}
