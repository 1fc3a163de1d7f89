/**
 * A stage's baseline: targets kept on the channel's base pack that `compare` gates measure the
 * canary against (docs/adr/0012-baselines-shadow-gates-and-replayable-looks.md).
 *
 * A stage declares `baseline: {}` (as many targets as the canary holds), `{count: n}` or
 * `{percent: p}`. The members are chosen from the channel's targets that no pin holds and the
 * stage does not reach (its canary: for a stage with a cohort, the rest of the channel too), by
 * the release's own bucketing, from the other end of the bucket range: the canary is the
 * candidates with the smallest buckets (`bucket(release, id) < percent`), the baseline the
 * targets with the largest (`{percent: p}`: bucket ≥ 10000 − round(p × 100); a count: the `n`
 * largest buckets, ties by id). So:
 * - it never overlaps the canary: a target the rollout reaches (by its bucket, or named in the
 *   context's `stageTargets`) is never a member;
 * - it is sticky: the same targets, release after release of the same salt, and a later stage
 *   of the same release keeps the members the canary has not grown into;
 * - it needs no change to the channel index: a member is outside the rollout, so it runs base.
 * Pure; compare gates count only the reports of members that run the channel's base pack.
 */
import { BUCKET_COUNT, bucket, bucketsOf } from './bucket.ts';

/** `{}`: as many targets as the canary; `{count}` or `{percent}` to declare the size. */
export interface StageBaselineSpec {
  count?: number;
  percent?: number;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Problems of a stage's `baseline`, given the stage's percent when it is valid. */
export function baselineProblems(
  value: unknown,
  path: string,
  stagePercent: number | null,
): string[] {
  if (!isObject(value)) return [`${path} must be {}, {count: n} or {percent: p}`];
  const problems: string[] = [];
  for (const field of Object.keys(value)) {
    if (field !== 'count' && field !== 'percent') {
      problems.push(`${path}.${field} is not a baseline field`);
    }
  }
  if (value.count !== undefined && value.percent !== undefined) {
    problems.push(`${path} declares either count or percent, not both`);
  }
  if (
    value.count !== undefined &&
    !(Number.isSafeInteger(value.count) && Number(value.count) >= 1)
  ) {
    problems.push(`${path}.count must be an integer ≥ 1`);
  }
  if (value.percent !== undefined) {
    const p = value.percent;
    if (typeof p !== 'number' || !(p > 0 && p < 100)) {
      problems.push(`${path}.percent must be a number in (0, 100)`);
    } else if (stagePercent !== null && stagePercent + p > 100) {
      problems.push(`${path}.percent ${p} and the stage's ${stagePercent} exceed 100`);
    }
  }
  if (stagePercent !== null && stagePercent >= 100) {
    problems.push(
      `${path} needs a stage below 100% or with a cohort: a baseline is kept outside the canary`,
    );
  }
  return problems;
}

/**
 * The members of a baseline (sorted ids): from `pool` (the channel's targets no pin holds), those
 * outside `canary` (every target the stage reaches), by the release's bucketing from the top of
 * the range. release-step `stageBaseline` calls it with the stage's context.
 */
export function baselineMembers(
  spec: StageBaselineSpec,
  salt: string,
  canary: ReadonlySet<string>,
  pool: readonly string[],
): string[] {
  const outside = pool
    .filter((id) => !canary.has(id))
    .map((id) => ({ id, bucket: bucket(salt, id) }));
  let members: typeof outside;
  if (spec.percent !== undefined) {
    const from = BUCKET_COUNT - bucketsOf(spec.percent);
    members = outside.filter((m) => m.bucket >= from);
  } else {
    const count = spec.count ?? Math.max(1, canary.size);
    members = outside
      .sort((a, b) => b.bucket - a.bucket || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, count);
  }
  return [...new Set(members.map((m) => m.id))].sort();
}
