import type { Digest } from './digest.ts';

export const PACK_SCHEMA = 'lockgate.pack/v1';

export type GateStatus = 'PASS' | 'FAIL' | 'ERROR' | 'SKIP';
export const GATE_STATUSES: readonly GateStatus[] = ['PASS', 'FAIL', 'ERROR', 'SKIP'];

export interface GateResult {
  name: string;
  status: GateStatus;
  details?: string;
}

export interface PackFile {
  /** Normalized relative POSIX path: no leading '/', no '.', '..' or empty segments, no backslash, no NUL. */
  path: string;
  /** lowercase hex sha256 of the file's bytes */
  sha256: string;
  size: number;
  role?: string;
}

export interface PackProvenance {
  buildId: string;
  source?: { repo?: string; commit?: string };
  /** RFC 3339 UTC time */
  createdAt: string;
  gates: GateResult[];
  inputs?: Record<string, string>;
}

export interface PackSignature {
  keyId: string;
  alg: 'ed25519';
  sig: string;
}

export interface PackManifest {
  schema: typeof PACK_SCHEMA;
  name: string;
  version: string;
  sequence: number;
  files: PackFile[];
  /** e.g. { runtime: ">=2.3 <3", schema: "kb/3", profile: "default", capabilities: "lookup,search" } */
  requires: Record<string, string>;
  provenance: PackProvenance;
  signatures: PackSignature[];
}

export type UnsignedManifest = Omit<PackManifest, 'signatures'>;

/**
 * Checks an unknown value against lockgate.pack/v1 (unknown fields refused, files sorted by
 * path and unique, paths safe, semver version, integer sequence >= 0, name pattern).
 * Throws LockgateError PACK_MANIFEST_INVALID with details.problems: string[].
 */
export function validateManifest(_value: unknown): PackManifest {
  throw new Error('TODO(core)');
}

/** Parses manifest JSON bytes then validates; PACK_MANIFEST_INVALID on bad JSON. */
export function parseManifest(_bytes: Uint8Array | string): PackManifest {
  throw new Error('TODO(core)');
}

/** null when the path is safe, else the reason it is not. */
export function unsafePathReason(_path: string): string | null {
  throw new Error('TODO(core)');
}

/** packDigest = sha256 of JCS(manifest without signatures). */
export function packDigest(_manifest: UnsignedManifest | PackManifest): Digest {
  throw new Error('TODO(core)');
}

/** The exact bytes every signature covers: JCS(manifest without signatures). */
export function signingBytes(_manifest: UnsignedManifest | PackManifest): Uint8Array {
  throw new Error('TODO(core)');
}
