import type { KeyObject } from 'node:crypto';
import type { Digest } from './digest.ts';
import type { GateResult, PackManifest, PackProvenance } from './manifest.ts';
import type { PublicKeyInfo } from './signing.ts';

export interface PackInputFile {
  path: string;
  bytes: Uint8Array;
  role?: string;
}

export interface CreatePackInput {
  name: string;
  version: string;
  sequence: number;
  files: PackInputFile[];
  requires?: Record<string, string>;
  provenance: PackProvenance;
}

/**
 * Builds and signs a manifest for the files (sorted by path, hashes computed).
 * Refuses with BUILD_GATES_MISSING when provenance.gates is empty and BUILD_GATE_FAILED
 * (details.gates = the failing ones) when any gate is not PASS: no compile on fail.
 * Validates the result (PACK_MANIFEST_INVALID for bad name/version/paths).
 */
export function createSignedManifest(
  _input: CreatePackInput,
  _signers: KeyObject[],
): { manifest: PackManifest; digest: Digest } {
  throw new Error('TODO(core)');
}

/** Adds one more signature to an existing manifest (same digest). */
export function addSignature(_manifest: PackManifest, _privateKey: KeyObject): PackManifest {
  throw new Error('TODO(core)');
}

export interface VerifyPackOptions {
  trustedKeys: PublicKeyInfo[];
  /** When given, the computed digest must equal it (PACK_DIGEST_MISMATCH). */
  expectedDigest?: Digest;
}

export interface VerifiedPack {
  manifest: PackManifest;
  digest: Digest;
  /** key ids of trusted keys whose signatures verified */
  signedBy: string[];
}

/**
 * Verifies a manifest and the files that came with it, in this order, throwing the first failure:
 * manifest parse and schema (PACK_MANIFEST_INVALID) → digest (PACK_DIGEST_MISMATCH) →
 * signatures: any signature that claims a trusted keyId and fails → PACK_SIGNATURE_INVALID;
 * no valid signature by a trusted key → PACK_SIGNER_UNTRUSTED →
 * every listed file present (PACK_FILE_MISSING, details.path) with its size and hash
 * (PACK_FILE_HASH_MISMATCH, details.path) → no unlisted file (PACK_FILE_UNLISTED, details.path).
 */
export function verifyPack(
  _manifest: unknown,
  _files: ReadonlyMap<string, Uint8Array>,
  _options: VerifyPackOptions,
): VerifiedPack {
  throw new Error('TODO(core)');
}

/** The gates that are not PASS. */
export function failingGates(_gates: readonly GateResult[]): GateResult[] {
  throw new Error('TODO(core)');
}
