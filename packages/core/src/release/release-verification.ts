/**
 * Verification of a release candidate against its channel: the one answer to "may this pack
 * roll out on this channel now?" that `decide` re-asks on every tick.
 *
 * Invariants: pure (the only time is `now`, used for rollback authorizations); fail closed (any
 * failing check makes `ok` false, and an unknown or malformed input fails a check rather than
 * passing one); every failing check is reported, in a fixed order, so the same input always
 * yields the same reasons.
 */
import { packRefusals } from '../channel/pack-refusal.ts';
import type { Instant } from './instant.ts';
import type { ChannelContext, PackContext, Reason, ReleaseState } from './release-state.ts';

export interface VerificationResult {
  ok: boolean;
  reasons: Reason[];
}

/**
 * Verification of a release candidate against its channel, fail closed; every failing check is
 * reported: not eligible (RELEASE_NOT_ELIGIBLE, with the eligibility reasons), then every
 * refusal of the channel rule `packRefusals` (revoked, constraints, invalid sequence, below the
 * floor without a rollback authorization; see channel/pack-refusal.ts), then evidence incomplete
 * (EVIDENCE_MISSING). When `release` is given, the context's pack must be it.
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
  reasons.push(
    ...packRefusals(
      channel,
      { digest: pack.digest, sequence: pack.sequence, requires: pack.requires },
      now,
    ),
  );
  if (!pack.evidenceComplete) {
    reasons.push({
      code: 'EVIDENCE_MISSING',
      message: `evidence for pack ${pack.digest} is incomplete`,
    });
  }
  return { ok: reasons.length === 0, reasons };
}
