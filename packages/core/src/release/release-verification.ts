/**
 * Verification of a release candidate against its channel: the one answer to "may this pack
 * roll out on this channel now?" that `decide` re-asks on every tick.
 *
 * Invariants: pure (the only time is `now`, used for rollback authorizations); fail closed (any
 * failing check makes `ok` false, and an unknown or malformed input fails a check rather than
 * passing one); every failing check is reported, in a fixed order, so the same input always
 * yields the same reasons.
 */
import semver from 'semver';
import type { Instant } from './instant.ts';
import { rollbackAuthorized } from './pin.ts';
import type { ChannelContext, PackContext, Reason, ReleaseState } from './release-state.ts';

export interface VerificationResult {
  ok: boolean;
  reasons: Reason[];
}

/**
 * Verification of a release candidate against its channel, fail closed; every failing check is
 * reported: not eligible (RELEASE_NOT_ELIGIBLE, with the eligibility reasons), revoked
 * (PACK_REVOKED), a channel constraint not met by `pack.requires` (PACK_INCOMPATIBLE: semver
 * range intersection for `runtime`, equality for other keys, a missing key fails), sequence below
 * the floor without an unexpired rollback authorization for the pack (RELEASE_BELOW_FLOOR),
 * evidence incomplete (EVIDENCE_MISSING). When `release` is given, the context's pack must be it.
 */
export function verifyReleaseCandidate(
  input: {
    pack: PackContext;
    channel: ChannelContext;
    release?: Pick<ReleaseState, 'pack' | 'packSequence'>;
  },
  now: Instant,
): VerificationResult {
  const { pack, channel, release } = input;
  const reasons: Reason[] = [];
  if (
    release !== undefined &&
    (release.pack !== pack.digest || release.packSequence !== pack.sequence)
  ) {
    reasons.push({
      code: 'RELEASE_NOT_ELIGIBLE',
      message: `the pack context (${pack.digest} #${pack.sequence}) is not the release's pack (${release.pack} #${release.packSequence})`,
    });
  }
  if (!pack.eligible) {
    reasons.push({ code: 'RELEASE_NOT_ELIGIBLE', message: `pack ${pack.digest} is not eligible` });
    for (const r of pack.eligibilityReasons) reasons.push({ code: r.code, message: r.message });
  }
  if (channel.revoked.includes(pack.digest)) {
    reasons.push({ code: 'PACK_REVOKED', message: `pack ${pack.digest} is revoked` });
  }
  for (const key of Object.keys(channel.constraints).sort()) {
    const want = channel.constraints[key] ?? '';
    const have = Object.hasOwn(pack.requires, key) ? pack.requires[key] : undefined;
    if (have === undefined) {
      reasons.push({
        code: 'PACK_INCOMPATIBLE',
        message: `the channel requires ${key} "${want}" but the pack does not declare ${key}`,
      });
    } else if (key === 'runtime') {
      // Fail closed: every runtime the channel admits must satisfy the pack's requirement.
      const ok =
        semver.validRange(have) !== null &&
        semver.validRange(want) !== null &&
        semver.subset(want, have);
      if (!ok) {
        reasons.push({
          code: 'PACK_INCOMPATIBLE',
          message: `the pack's runtime "${have}" does not cover every runtime the channel allows ("${want}")`,
        });
      }
    } else if (have !== want) {
      reasons.push({
        code: 'PACK_INCOMPATIBLE',
        message: `the pack's ${key} "${have}" is not the channel's "${want}"`,
      });
    }
  }
  if (!Number.isSafeInteger(pack.sequence) || pack.sequence < 0) {
    reasons.push({
      code: 'RELEASE_NOT_ELIGIBLE',
      message: `pack sequence ${pack.sequence} is invalid`,
    });
  } else if (
    channel.floor !== null &&
    pack.sequence < channel.floor &&
    !rollbackAuthorized(channel.rollbackAuthorizations, pack.digest, now)
  ) {
    reasons.push({
      code: 'RELEASE_BELOW_FLOOR',
      message: `pack sequence ${pack.sequence} is below the channel floor ${channel.floor} and no rollback authorization covers it`,
    });
  }
  if (!pack.evidenceComplete) {
    reasons.push({
      code: 'EVIDENCE_MISSING',
      message: `evidence for pack ${pack.digest} is incomplete`,
    });
  }
  return { ok: reasons.length === 0, reasons };
}
