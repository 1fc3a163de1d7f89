import {
  buildChannelIndex,
  LockgateError,
  signChannelIndex,
  validateChannelIndex,
} from '@lockgate/core';
import type {
  ChannelIndexPayload,
  ChannelIndexRollout,
  Cohort,
  DsseEnvelope,
  IndexPackInfo,
  Pin,
} from '@lockgate/core';
import type { Stores } from '../../stores.ts';
import type { IndexSigningKey } from '../server-keys/server-key-service.ts';
import { WHOLE_CHANNEL } from './channel-store.ts';
import type { SignedIndex, StoredChannel, StoredPin } from './channel-store.ts';

/** The payload of a stored (trusted, self-signed) channel index envelope. */
export function indexPayloadOf(envelope: DsseEnvelope): ChannelIndexPayload {
  const text = Buffer.from(envelope.payload, 'base64').toString('utf8');
  return validateChannelIndex(JSON.parse(text));
}

/**
 * Pins in the order the index lists them (desiredPack takes the first match): cohort pins by
 * cohort name, then the whole-channel pin, so a narrower pin wins over a wider one.
 */
export function indexPins(pins: readonly StoredPin[]): Pin[] {
  const ordered = [
    ...pins.filter((pin) => pin.cohort !== WHOLE_CHANNEL),
    ...pins.filter((pin) => pin.cohort === WHOLE_CHANNEL),
  ];
  return ordered.map((pin) => ({
    cohort: pin.selector,
    pack: pin.pack,
    expiresAt: pin.expiresAt,
    reason: pin.reason,
  }));
}

/**
 * The rollout entry for a stage: the release id is the salt (so a release's 10% ⊂ 50% ⊂ 100%),
 * the stage percent, and the stage cohort's selector when the stage names one (a selector-only
 * cohort of the channel; COHORT_INVALID otherwise).
 */
export function rolloutFor(
  stage: { release: string; pack: string; percent: number; cohort: string | null },
  cohorts: readonly Cohort[],
): ChannelIndexRollout {
  const selectors = [];
  if (stage.cohort !== null) {
    const cohort = cohorts.find((c) => c.name === stage.cohort);
    if (cohort?.selector === undefined || cohort.percent !== undefined) {
      throw new LockgateError(
        'COHORT_INVALID',
        `Cohort "${stage.cohort}" is not a selector-only cohort of the channel.`,
        { details: { release: stage.release, cohort: stage.cohort } },
      );
    }
    selectors.push(structuredClone(cohort.selector));
  }
  return {
    release: stage.release,
    pack: stage.pack,
    salt: stage.release,
    percent: stage.percent,
    cohorts: selectors,
  };
}

/**
 * Builds, signs and stores the next version of a channel's index from what the database holds
 * now (inside the caller's transaction, with the channel row locked). Updates `channel` in
 * place and returns the new index.
 */
export async function resignChannelIndex(
  tx: Stores,
  channel: StoredChannel,
  now: Date,
  key: IndexSigningKey,
): Promise<SignedIndex> {
  const pins = await tx.channels.listPins(channel.env, channel.name);
  const authorizations = await tx.channels.listRollbackAuthorizations(channel.env, channel.name);
  const revoked = await tx.revocations.digests();
  const referenced = new Set<string>();
  if (channel.base !== null) referenced.add(channel.base);
  if (channel.rollout !== null) referenced.add(channel.rollout.pack);
  for (const pin of pins) referenced.add(pin.pack);
  for (const authorization of authorizations) referenced.add(authorization.pack);
  const packs: Record<string, IndexPackInfo> = {};
  for (const digest of [...referenced].sort()) {
    const pack = await tx.packs.findByDigest(digest);
    if (pack !== null) {
      packs[digest] = { name: pack.name, version: pack.version, sequence: pack.sequence };
    }
  }
  const payload = buildChannelIndex({
    env: channel.env,
    channel: channel.name,
    version: channel.indexVersion + 1,
    issuedAt: now,
    ttlSeconds: channel.indexTtlSeconds,
    packs,
    base: channel.base,
    rollout: channel.rollout,
    pins: indexPins(pins),
    floor: channel.floor,
    revoked,
    rollbackAuthorizations: authorizations.map((a) => ({
      pack: a.pack,
      reason: a.reason,
      expiresAt: a.expiresAt,
    })),
  });
  const index: SignedIndex = {
    version: payload.version,
    envelope: signChannelIndex(payload, key.privateKey, key.keyId),
    expiresAt: payload.expiresAt,
  };
  if (!(await tx.channels.setIndex(channel, index, channel.indexVersion))) {
    throw new LockgateError(
      'VERSION_CONFLICT',
      `The index of channel ${channel.env}/${channel.name} changed while it was being signed.`,
      { details: { env: channel.env, channel: channel.name } },
    );
  }
  channel.indexVersion = index.version;
  channel.indexEnvelope = index.envelope;
  channel.indexExpiresAt = index.expiresAt;
  return index;
}
