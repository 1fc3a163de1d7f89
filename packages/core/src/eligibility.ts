import type { Digest } from './digest.ts';
import { LockgateError } from './errors.ts';
import type { ErrorCode } from './errors.ts';
import { compareCodeUnits } from './manifest.ts';
import type { GateResult, PackManifest } from './manifest.ts';
import { failingGates } from './pack.ts';

export type BuildStatus = 'passed' | 'failed';

/** A build as the server records it. */
export interface BuildRecord {
  id: string;
  status: BuildStatus;
  gates: GateResult[];
  /** set only for a passed build */
  packDigest: string | null;
  source?: { repo?: string; commit?: string };
  inputs?: Record<string, string>;
  reportedAt: string;
}

export interface EligibilityReason {
  code: ErrorCode;
  message: string;
}

export interface EligibilityVerdict {
  eligible: boolean;
  reasons: EligibilityReason[];
}

/** passed when gates are non-empty and all PASS, else failed. */
export function buildStatusOf(gates: readonly GateResult[]): BuildStatus {
  return gates.length > 0 && failingGates(gates).length === 0 ? 'passed' : 'failed';
}

/**
 * Pure eligibility of an already verified pack (signatures checked by verifyPack):
 * provenance complete (buildId, createdAt, gates non-empty) else PROVENANCE_INCOMPLETE;
 * every provenance gate PASS else BUILD_GATE_FAILED; when the server holds a build record
 * with that id it must be `passed` (BUILD_GATE_FAILED) and its gates must equal the
 * manifest's by name and status (PROVENANCE_INCOMPLETE otherwise); a build record with
 * another id is PROVENANCE_INCOMPLETE too. Whether the build already produced another pack
 * (build.packDigest) is the caller's question (the server answers BUILD_CONFLICT).
 * All reasons are collected, not just the first.
 */
export function evaluateEligibility(input: {
  manifest: PackManifest;
  build: BuildRecord | null;
}): EligibilityVerdict {
  const { provenance } = input.manifest;
  const { build } = input;
  const reasons: EligibilityReason[] = [];
  const reason = (code: ErrorCode, message: string): void => {
    reasons.push({ code, message });
  };

  if (provenance.buildId.trim() === '')
    reason('PROVENANCE_INCOMPLETE', 'The provenance names no build.');
  if (provenance.createdAt.trim() === '')
    reason('PROVENANCE_INCOMPLETE', 'The provenance has no creation time.');
  if (provenance.gates.length === 0)
    reason('PROVENANCE_INCOMPLETE', 'The provenance lists no build gates.');
  const failing = failingGates(provenance.gates);
  if (failing.length > 0) {
    reason('BUILD_GATE_FAILED', `The manifest records ${describeGates(failing)}.`);
  }

  if (build !== null) {
    if (build.id !== provenance.buildId) {
      reason(
        'PROVENANCE_INCOMPLETE',
        `The build record ${build.id} is not the pack's build ${provenance.buildId}.`,
      );
    }
    if (build.status !== 'passed') {
      const failed = failingGates(build.gates);
      reason(
        'BUILD_GATE_FAILED',
        failed.length > 0
          ? `Build ${build.id} failed: ${describeGates(failed)}.`
          : `Build ${build.id} is recorded as ${build.status}.`,
      );
    }
    if (!sameGates(build.gates, provenance.gates)) {
      reason(
        'PROVENANCE_INCOMPLETE',
        `The manifest's gates (${describeGates(provenance.gates)}) differ from build ${build.id}'s (${describeGates(build.gates)}).`,
      );
    }
  }

  return { eligible: reasons.length === 0, reasons };
}

/**
 * Throws when evaluateEligibility finds the pack not eligible: the first reason's code and
 * sentence, with every reason (and the digest) in details. Offline verification (no build
 * record) and the server (its record of the build) both refuse through this one function.
 */
export function assertEligible(
  input: { manifest: PackManifest; build: BuildRecord | null },
  digest: Digest,
): void {
  const verdict = evaluateEligibility(input);
  if (verdict.eligible) return;
  const [first] = verdict.reasons;
  throw new LockgateError(
    first?.code ?? 'PACK_NOT_ELIGIBLE',
    first?.message ?? `Pack ${digest} is not eligible.`,
    { details: { digest, reasons: verdict.reasons } },
  );
}

/** Same gates by name and status, in any order. */
function sameGates(a: readonly GateResult[], b: readonly GateResult[]): boolean {
  const key = (gates: readonly GateResult[]): string[] =>
    gates.map((g) => `${g.name}\u0000${g.status}`).sort(compareCodeUnits);
  const ka = key(a);
  const kb = key(b);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
}

function describeGates(gates: readonly GateResult[]): string {
  return gates.length === 0 ? 'no gates' : gates.map((g) => `${g.name} ${g.status}`).join(', ');
}
