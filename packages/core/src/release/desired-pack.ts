/**
 * What a target should run, from the channel index alone: the same function on the server and
 * in the agent.
 *
 * 1. the first pin (in index order) that matches the target (`cohort` null = every target; a
 *    pin with a `bucket` only holds the targets inside it) and has not expired
 *    (`now < expiresAt`) → reason 'pin';
 * 2. else the rollout's pack when the target matches one of the rollout cohorts (every target
 *    when there are none), is inside the rollout's cohort `bucket` when it has one, and
 *    `bucket(salt, targetId) < round(percent × 100)` → 'rollout';
 * 3. else `base` → 'base'.
 * Fail closed: a chosen pack that is revoked, not listed in `packs`, or below the floor without
 * an unexpired rollback authorization is never returned; the target falls back to `base`, and
 * when `base` is not allowed either, to nothing ('none').
 */
import { BUCKET_COUNT, bucketsOf, inBucket, inPercent } from './bucket.ts';
import type { ChannelIndexPayload } from './channel-index.ts';
import type { Instant } from './instant.ts';
import { parseTime, toMillis } from './instant.ts';
import { isUnexpired, rollbackAuthorized } from './pin.ts';
import { matchesSelector } from './selector.ts';
import type { TargetRef } from './selector.ts';

export type DesiredReason = 'pin' | 'rollout' | 'base' | 'none';

export interface DesiredPack {
  pack: string | null;
  reason: DesiredReason;
}

/** True when the index lets a target run this pack at `now` (listed, not revoked, floor). */
export function packAllowed(index: ChannelIndexPayload, pack: string, now: Instant): boolean {
  if (index.revoked.includes(pack) || !Object.hasOwn(index.packs, pack)) return false;
  const info = index.packs[pack];
  if (info === undefined) return false;
  if (index.floor !== null && info.sequence < index.floor) {
    return rollbackAuthorized(index.rollbackAuthorizations, pack, now);
  }
  return true;
}

export function desiredPack(
  index: ChannelIndexPayload,
  target: TargetRef,
  now: Instant,
): DesiredPack {
  let choice: DesiredPack | null = null;
  const pin = index.pins.find(
    (p) =>
      isUnexpired(p.expiresAt, now) &&
      (p.cohort === null || matchesSelector(p.cohort, target.labels)) &&
      inBucket(p.bucket, target.id),
  );
  if (pin !== undefined) {
    choice = { pack: pin.pack, reason: 'pin' };
  } else if (index.rollout !== null) {
    const { rollout } = index;
    const inCohorts =
      rollout.cohorts.length === 0 ||
      rollout.cohorts.some((s) => matchesSelector(s, target.labels));
    if (
      inCohorts &&
      inBucket(rollout.bucket, target.id) &&
      inPercent(rollout.salt, target.id, rollout.percent)
    ) {
      choice = { pack: rollout.pack, reason: 'rollout' };
    }
  }
  if (choice !== null && choice.pack !== null && packAllowed(index, choice.pack, now))
    return choice;
  if (index.base !== null && packAllowed(index, index.base, now))
    return { pack: index.base, reason: 'base' };
  return { pack: null, reason: 'none' };
}

/**
 * Until when `desiredPack`'s answers on this index hold: the first pin or rollback authorization
 * expiry after `now`, in milliseconds since the epoch (+∞ when none). `desiredPack` reads the
 * time only through those expiries, so for every target and every `t` with
 * `now ≤ t < desiredPackStableUntil(index, now)`, `desiredPack(index, target, t)` equals
 * `desiredPack(index, target, now)`: a caller may keep an answer until then.
 */
export function desiredPackStableUntil(index: ChannelIndexPayload, now: Instant): number {
  const nowMs = toMillis(now);
  let until = Number.POSITIVE_INFINITY;
  for (const { expiresAt } of [...index.pins, ...index.rollbackAuthorizations]) {
    const end = parseTime(expiresAt);
    if (end !== null && end > nowMs && end < until) until = end;
  }
  return until;
}

/**
 * The pack `desiredPack` gives every target of the channel at `now`, when the index makes it the
 * same for all of them; null when it may depend on the target (a pin or rollout limited to a
 * cohort, a bucket or a percentage strictly between 0 and 100). Lets a caller count a fleet's
 * drift by active pack instead of asking for each target.
 */
export function uniformDesiredPack(index: ChannelIndexPayload, now: Instant): DesiredPack | null {
  let choice: { pack: string; reason: DesiredReason } | null = null;
  const pin = index.pins.find((p) => isUnexpired(p.expiresAt, now));
  if (pin !== undefined) {
    if (pin.cohort !== null || pin.bucket !== undefined) return null;
    choice = { pack: pin.pack, reason: 'pin' };
  } else if (index.rollout !== null) {
    const { rollout } = index;
    const buckets = bucketsOf(rollout.percent);
    if (buckets > 0) {
      if (rollout.cohorts.length > 0 || rollout.bucket !== undefined) return null;
      if (buckets < BUCKET_COUNT) return null;
      choice = { pack: rollout.pack, reason: 'rollout' };
    }
  }
  if (choice !== null && packAllowed(index, choice.pack, now)) return choice;
  if (index.base !== null && packAllowed(index, index.base, now))
    return { pack: index.base, reason: 'base' };
  return { pack: null, reason: 'none' };
}
