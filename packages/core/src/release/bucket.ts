/**
 * Deterministic, sticky cohort bucketing.
 *
 *   bucket(salt, targetId) = uint64_be(sha256(utf8(salt + "\n" + targetId))[0..8]) mod 10000
 *
 * i.e. the first 8 bytes of the SHA-256 of the UTF-8 string `${salt}\n${targetId}`, read as an
 * unsigned big-endian 64-bit integer, modulo 10000. The result is in 0..9999. A target is in a
 * percentage p (0..100) when bucket < round(p × 100), so 10% ⊂ 50% ⊂ 100% for the same salt,
 * and p = 100 holds every target. The server and the agent must compute exactly this; any other
 * implementation (another language) must reproduce it bit for bit.
 */
import { createHash } from 'node:crypto';

/** Number of buckets: percentages have a resolution of 0.01%. */
export const BUCKET_COUNT = 10_000;

export function bucket(salt: string, targetId: string): number {
  const hash = createHash('sha256').update(`${salt}\n${targetId}`, 'utf8').digest();
  return Number(hash.readBigUInt64BE(0) % BigInt(BUCKET_COUNT));
}

/** Buckets a percentage covers: round(percent × 100) clamped to 0..10000; not finite → 0 (fail closed). */
export function bucketsOf(percent: number): number {
  if (!Number.isFinite(percent)) return 0;
  return Math.min(BUCKET_COUNT, Math.max(0, Math.round(percent * 100)));
}

/** True when the target's bucket for this salt is below round(percent × 100). */
export function inPercent(salt: string, targetId: string, percent: number): boolean {
  return bucket(salt, targetId) < bucketsOf(percent);
}

/**
 * The percentage a stage actually rolls out to, so that a stage with `percent > 0` reaches at
 * least one target when it has candidates (the channel's targets in the stage's cohort):
 * `percent` itself when it is not above 0, when there are no candidates, or when some candidate's bucket
 * is below round(percent × 100); otherwise (smallest candidate bucket + 1) / 100, which reaches
 * exactly the candidate(s) with the smallest bucket. The result is still a bucket threshold of
 * the same salt, so stickiness holds, and since the candidate with the smallest bucket is the
 * first one any larger percentage reaches, a later stage of the same cohort (percent ≥ this
 * one's) still contains every target this one reached: 10% ⊂ 50% ⊂ 100% is kept.
 */
export function reachPercent(salt: string, percent: number, candidates: readonly string[]): number {
  if (!(percent > 0) || candidates.length === 0) return percent;
  const buckets = bucketsOf(percent);
  let smallest = BUCKET_COUNT;
  for (const id of candidates) {
    const b = bucket(salt, id);
    if (b < buckets) return percent;
    if (b < smallest) smallest = b;
  }
  return (smallest + 1) / 100;
}

/** A cohort's own percentage bucket as the channel index carries it. */
export interface CohortBucket {
  salt: string;
  percent: number;
}

/** The salt of a channel's percentage cohorts: one per channel, so its cohorts nest (20% ⊂ 50%). */
export function cohortSaltOf(env: string, channel: string): string {
  return `cohort:${env}/${channel}`;
}

/** True when there is no bucket or the target is inside it. */
export function inBucket(cohortBucket: CohortBucket | undefined, targetId: string): boolean {
  return cohortBucket === undefined || inPercent(cohortBucket.salt, targetId, cohortBucket.percent);
}
