import { cohortScope, validateChannelIndex } from '@lockgate/core';
import type { ChannelIndexPayload, Cohort, DsseEnvelope, Pin } from '@lockgate/core';
import { WHOLE_CHANNEL } from './channel-store.ts';
import type { StoredPin } from './channel-store.ts';

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
