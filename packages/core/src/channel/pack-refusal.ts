/**
 * "May this pack go on this channel?" — the one rule every path asks: a release candidate
 * (`verifyReleaseCandidate`), a pin, a rollback target (`planRollback`), a floor change (is the
 * base still allowed?) and the removal of a rollback authorization (is a pin or the base still
 * allowed without it?).
 *
 * A pack is refused, for each reason that holds, in this order:
 * - PACK_REVOKED: it is revoked;
 * - PACK_NOT_FOUND: the caller knows no sequence for it (not a pack the server holds);
 * - PACK_INCOMPATIBLE: its `requires` does not meet a channel constraint (semver range
 *   intersection for `runtime`, equality for other keys, a missing key fails) — checked when the
 *   caller gives `requires`; a rollback target is not re-checked (it met the constraints when it
 *   was released or pinned);
 * - RELEASE_NOT_ELIGIBLE: its sequence is not an integer ≥ 0;
 * - RELEASE_BELOW_FLOOR: its sequence is below the channel floor and no unexpired rollback
 *   authorization names it.
 *
 * Invariants: pure (the only time is `now`, for authorization expiry); fail closed (an unknown
 * pack or a malformed sequence is refused, never allowed); the same input always gives the same
 * refusals in the same order. `desiredPack` applies the revoked and floor rules to the index the
 * agent reads, so a pack this function allows is one every agent of the channel accepts.
 */
import semver from 'semver';
import type { ErrorCode } from '../errors.ts';
import type { Instant } from '../release/instant.ts';
import { rollbackAuthorized } from '../release/pin.ts';
import type { RollbackAuthorization } from '../release/pin.ts';

/** The channel facts the rule reads. */
export interface ChannelRules {
  floor: number | null;
  constraints: Readonly<Record<string, string>>;
  revoked: readonly string[];
  rollbackAuthorizations: readonly RollbackAuthorization[];
}

/** What the rule knows about a pack: its digest, and its sequence and requirements when known. */
export interface PackFacts {
  digest: string;
  /** null: the pack is unknown (refused with PACK_NOT_FOUND) */
  sequence: number | null;
  /** the manifest's `requires`; when absent the channel constraints are not checked */
  requires?: Readonly<Record<string, string>>;
}

export type PackRefusalCode =
  | 'PACK_REVOKED'
  | 'PACK_NOT_FOUND'
  | 'PACK_INCOMPATIBLE'
  | 'RELEASE_NOT_ELIGIBLE'
  | 'RELEASE_BELOW_FLOOR';

export interface PackRefusal {
  code: PackRefusalCode & ErrorCode;
  message: string;
}

/** Every reason the channel refuses the pack now, in the order of the file header; [] = allowed. */
export function packRefusals(rules: ChannelRules, pack: PackFacts, now: Instant): PackRefusal[] {
  const refusals: PackRefusal[] = [];
  const { digest, sequence } = pack;
  if (rules.revoked.includes(digest)) {
    refusals.push({ code: 'PACK_REVOKED', message: `pack ${digest} is revoked` });
  }
  if (sequence === null) {
    refusals.push({
      code: 'PACK_NOT_FOUND',
      message: `pack ${digest} is not a pack the server holds`,
    });
  }
  if (pack.requires !== undefined) refusals.push(...constraintRefusals(rules, pack.requires));
  if (sequence === null) return refusals;
  if (!Number.isSafeInteger(sequence) || sequence < 0) {
    refusals.push({
      code: 'RELEASE_NOT_ELIGIBLE',
      message: `pack sequence ${sequence} is invalid`,
    });
  } else if (
    rules.floor !== null &&
    sequence < rules.floor &&
    !rollbackAuthorized(rules.rollbackAuthorizations, digest, now)
  ) {
    refusals.push({
      code: 'RELEASE_BELOW_FLOOR',
      message: `pack ${digest} (sequence ${sequence}) is below the channel floor ${rules.floor} and no rollback authorization covers it`,
    });
  }
  return refusals;
}

/** The first refusal of `packRefusals`, or null when the channel allows the pack. */
export function packRefusal(
  rules: ChannelRules,
  pack: PackFacts,
  now: Instant,
): PackRefusal | null {
  return packRefusals(rules, pack, now)[0] ?? null;
}

function constraintRefusals(
  rules: ChannelRules,
  requires: Readonly<Record<string, string>>,
): PackRefusal[] {
  const refusals: PackRefusal[] = [];
  for (const key of Object.keys(rules.constraints).sort()) {
    const want = rules.constraints[key] ?? '';
    const have = Object.hasOwn(requires, key) ? requires[key] : undefined;
    if (have === undefined) {
      refusals.push({
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
        refusals.push({
          code: 'PACK_INCOMPATIBLE',
          message: `the pack's runtime "${have}" does not cover every runtime the channel allows ("${want}")`,
        });
      }
    } else if (have !== want) {
      refusals.push({
        code: 'PACK_INCOMPATIBLE',
        message: `the pack's ${key} "${have}" is not the channel's "${want}"`,
      });
    }
  }
  return refusals;
}
