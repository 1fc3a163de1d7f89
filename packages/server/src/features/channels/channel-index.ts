import {
  buildChannelIndex,
  cohortScope,
  LockgateError,
  signChannelIndex,
  validateChannelIndex,
} from '@lockgate/core';
import type { ChannelIndexPayload, Cohort, DsseEnvelope, IndexPackInfo, Pin } from '@lockgate/core';
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
export function indexPins(
  pins: readonly StoredPin[],
  channel: { env: string; name: string; cohorts: readonly Cohort[] },
): Pin[] {
  const ordered = [
    ...pins.filter((pin) => pin.cohort !== WHOLE_CHANNEL),
    ...pins.filter((pin) => pin.cohort === WHOLE_CHANNEL),
  ];
  return ordered.map((pin) => {
    const entry: Pin = {
      cohort: pin.selector,
      pack: pin.pack,
      expiresAt: pin.expiresAt,
      reason: pin.reason,
    };
    const cohort = channel.cohorts.find((c) => c.name === pin.cohort);
    if (pin.cohort !== WHOLE_CHANNEL && cohort !== undefined) {
      const scope = cohortScope(cohort, { env: channel.env, channel: channel.name });
      entry.cohort = scope.selector;
      if (scope.bucket !== undefined) entry.bucket = scope.bucket;
    }
    return entry;
  });
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
    pins: indexPins(pins, channel),
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
