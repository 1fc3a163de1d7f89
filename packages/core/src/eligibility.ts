import type { ErrorCode } from './errors.ts';
import type { GateResult, PackManifest } from './manifest.ts';

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
export function buildStatusOf(_gates: readonly GateResult[]): BuildStatus {
  throw new Error('TODO(core)');
}

/**
 * Pure eligibility of an already verified pack (signatures checked by verifyPack):
 * provenance complete (buildId, createdAt, gates non-empty) else PROVENANCE_INCOMPLETE;
 * every provenance gate PASS else BUILD_GATE_FAILED; when the server holds a build record
 * with that id it must be `passed` (BUILD_GATE_FAILED) and its gates must equal the
 * manifest's by name and status (PROVENANCE_INCOMPLETE otherwise).
 * All reasons are collected, not just the first.
 */
export function evaluateEligibility(_input: {
  manifest: PackManifest;
  build: BuildRecord | null;
}): EligibilityVerdict {
  throw new Error('TODO(core)');
}
