/**
 * Pins and rollback authorizations as the channel holds them and the channel index carries them.
 * A pin holds a cohort (a selector) or, with `cohort: null`, the whole channel to one pack until
 * it expires (`now < expiresAt`). A rollback authorization lets one pack below the channel's
 * downgrade floor be released or run until it expires.
 */
import { parseTime, toMillis } from './instant.ts';
import type { Instant } from './instant.ts';
import type { CohortBucket } from './bucket.ts';
import type { LabelSelector } from './selector.ts';

export interface Pin {
  /** the selector of the pinned cohort ({} for a percentage-only cohort), or null for the whole channel */
  cohort: LabelSelector | null;
  /** a percentage cohort's bucket: the pin holds only the targets inside it */
  bucket?: CohortBucket;
  pack: string;
  expiresAt: string;
  reason: string;
}

export interface RollbackAuthorization {
  pack: string;
  reason: string;
  expiresAt: string;
}

/** True when `now < expiresAt`; an unreadable expiry counts as expired (fail closed). */
export function isUnexpired(expiresAt: string, now: Instant): boolean {
  const end = parseTime(expiresAt);
  return end !== null && toMillis(now) < end;
}

/** The first unexpired channel-wide pin (cohort null, no bucket), or null. */
export function channelPin(pins: readonly Pin[], now: Instant): Pin | null {
  return (
    pins.find(
      (pin) => pin.cohort === null && pin.bucket === undefined && isUnexpired(pin.expiresAt, now),
    ) ?? null
  );
}

/** True when an unexpired rollback authorization names this pack. */
export function rollbackAuthorized(
  authorizations: readonly RollbackAuthorization[],
  pack: string,
  now: Instant,
): boolean {
  return authorizations.some((a) => a.pack === pack && isUnexpired(a.expiresAt, now));
}
