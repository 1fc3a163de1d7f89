import type { KeyObject } from 'node:crypto';
import { sha256Hex } from './digest.ts';
import type { Digest } from './digest.ts';
import { LockgateError } from './errors.ts';
import {
  compareCodeUnits,
  PACK_SCHEMA,
  packDigest,
  parseManifest,
  signingBytes,
  validateManifest,
} from './manifest.ts';
import type {
  GateResult,
  PackFile,
  PackManifest,
  PackProvenance,
  PackSignature,
} from './manifest.ts';
import { keyIdOf, signBytes, verifyBytes } from './signing.ts';
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
 * Needs at least one Ed25519 private key (KEY_INVALID); signatures are ordered by keyId,
 * and a key given twice signs once.
 */
export function createSignedManifest(
  input: CreatePackInput,
  signers: KeyObject[],
): { manifest: PackManifest; digest: Digest } {
  const gates = input.provenance.gates;
  if (gates.length === 0) {
    throw new LockgateError(
      'BUILD_GATES_MISSING',
      'The build lists no gates, so nothing shows it passed; no pack is made.',
    );
  }
  const failing = failingGates(gates);
  if (failing.length > 0) {
    throw new LockgateError(
      'BUILD_GATE_FAILED',
      `Build gate ${failing.map((g) => `${g.name} is ${g.status}`).join(', ')}; no pack is made.`,
      { details: { gates: failing } },
    );
  }
  if (signers.length === 0) {
    throw new LockgateError('KEY_INVALID', 'A pack needs at least one signing key.');
  }
  const files: PackFile[] = [...input.files]
    .sort((a, b) => compareCodeUnits(a.path, b.path))
    .map(({ path, bytes, role }) => {
      const file: PackFile = { path, sha256: sha256Hex(bytes), size: bytes.byteLength };
      if (role !== undefined) file.role = role;
      return file;
    });
  const manifest = validateManifest({
    schema: PACK_SCHEMA,
    name: input.name,
    version: input.version,
    sequence: input.sequence,
    files,
    requires: input.requires ?? {},
    provenance: input.provenance,
    signatures: [],
  });
  const bytes = signingBytes(manifest);
  const signatures = new Map<string, PackSignature>();
  for (const key of signers) {
    const keyId = keyIdOf(key);
    signatures.set(keyId, { keyId, alg: 'ed25519', sig: signBytes(bytes, key) });
  }
  return {
    manifest: { ...manifest, signatures: sortSignatures([...signatures.values()]) },
    digest: packDigest(manifest),
  };
}

/**
 * Adds one more signature to an existing manifest (same digest). The manifest is validated
 * first; a signature already made by the same key is replaced.
 */
export function addSignature(manifest: PackManifest, privateKey: KeyObject): PackManifest {
  const valid = validateManifest(manifest);
  const keyId = keyIdOf(privateKey);
  const signature: PackSignature = {
    keyId,
    alg: 'ed25519',
    sig: signBytes(signingBytes(valid), privateKey),
  };
  const others = valid.signatures.filter((s) => s.keyId !== keyId);
  return { ...valid, signatures: sortSignatures([...others, signature]) };
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
 * The manifest may be given as JSON bytes or text, or as an already parsed value.
 */
export function verifyPack(
  manifest: unknown,
  files: ReadonlyMap<string, Uint8Array>,
  options: VerifyPackOptions,
): VerifiedPack {
  const verified = verifyManifest(manifest, options);
  verifyPackFiles(verified.manifest, files);
  return verified;
}

/**
 * The manifest half of verifyPack, for a reader that has the manifest before the files:
 * parse and schema (PACK_MANIFEST_INVALID) → digest (PACK_DIGEST_MISMATCH) → signatures
 * (PACK_SIGNATURE_INVALID, PACK_SIGNER_UNTRUSTED). The files are not looked at.
 */
export function verifyManifest(manifest: unknown, options: VerifyPackOptions): VerifiedPack {
  const valid =
    typeof manifest === 'string' || manifest instanceof Uint8Array
      ? parseManifest(manifest)
      : validateManifest(manifest);
  const digest = packDigest(valid);
  if (options.expectedDigest !== undefined && options.expectedDigest !== digest) {
    throw new LockgateError(
      'PACK_DIGEST_MISMATCH',
      `The pack digest is ${digest}, not ${options.expectedDigest}.`,
      {
        details: { expected: options.expectedDigest, actual: digest },
      },
    );
  }
  const signedBy = verifySignatures(valid, options.trustedKeys);
  return { manifest: valid, digest, signedBy };
}

/**
 * Checks payload files against a validated manifest: every listed file present
 * (PACK_FILE_MISSING) with its size and hash (PACK_FILE_HASH_MISMATCH), then no unlisted
 * file (PACK_FILE_UNLISTED); details.path names the file. Signatures are not looked at.
 */
export function verifyPackFiles(
  manifest: PackManifest,
  files: ReadonlyMap<string, Uint8Array>,
): void {
  const found = new Map<string, FoundFile>();
  for (const [path, bytes] of files) {
    found.set(path, { size: bytes.byteLength, sha256: () => sha256Hex(bytes) });
  }
  verifyFoundFiles(manifest, found);
}

/** A payload file as a reader found it: its size, and its SHA-256 (hex) computed on demand. */
export interface FoundFile {
  size: number;
  sha256: () => string;
}

/**
 * verifyPackFiles for a reader that hashed (or can hash) the files itself, say while streaming
 * them from disk: the same checks, in the same order, with the same errors. A listed file's
 * hash is asked for only when its size matches (and for the error's details when it does not).
 */
export function verifyFoundFiles(
  manifest: PackManifest,
  found: ReadonlyMap<string, FoundFile>,
): void {
  const listed = new Set<string>();
  for (const file of manifest.files) {
    listed.add(file.path);
    const entry = found.get(file.path);
    if (entry === undefined) {
      throw new LockgateError('PACK_FILE_MISSING', `The pack lacks the listed file ${file.path}.`, {
        details: { path: file.path },
      });
    }
    // The size check is free and spares hashing a file that cannot match.
    const sha256 = entry.size === file.size ? entry.sha256() : null;
    if (sha256 !== file.sha256) {
      throw new LockgateError(
        'PACK_FILE_HASH_MISMATCH',
        `The file ${file.path} differs from the manifest.`,
        {
          details: {
            path: file.path,
            expected: { size: file.size, sha256: file.sha256 },
            actual: { size: entry.size, sha256: sha256 ?? entry.sha256() },
          },
        },
      );
    }
  }
  for (const path of found.keys()) {
    if (!listed.has(path)) {
      throw new LockgateError(
        'PACK_FILE_UNLISTED',
        `The pack holds ${path}, which the manifest does not list.`,
        {
          details: { path },
        },
      );
    }
  }
}

/** The gates that are not PASS. */
export function failingGates(gates: readonly GateResult[]): GateResult[] {
  return gates.filter((g) => g.status !== 'PASS');
}

/**
 * Key ids of the trusted keys whose signatures on the manifest verify; PACK_SIGNATURE_INVALID when
 * a signature claiming a trusted key fails, PACK_SIGNER_UNTRUSTED when no trusted key signed.
 */
export function verifySignatures(
  manifest: PackManifest,
  trustedKeys: readonly PublicKeyInfo[],
): string[] {
  const trusted = new Map(trustedKeys.map((k) => [k.keyId, k]));
  const bytes = signingBytes(manifest);
  const signedBy: string[] = [];
  for (const signature of manifest.signatures) {
    const key = trusted.get(signature.keyId);
    if (key === undefined) continue;
    if (!verifyBytes(bytes, signature.sig, key.key)) {
      throw new LockgateError(
        'PACK_SIGNATURE_INVALID',
        `The signature by trusted key ${signature.keyId} does not verify.`,
        {
          details: { keyId: signature.keyId },
        },
      );
    }
    signedBy.push(signature.keyId);
  }
  if (signedBy.length === 0) {
    throw new LockgateError(
      'PACK_SIGNER_UNTRUSTED',
      'No signature on the pack is by a trusted key.',
      {
        details: { keyIds: manifest.signatures.map((s) => s.keyId) },
      },
    );
  }
  return signedBy;
}

function sortSignatures(signatures: PackSignature[]): PackSignature[] {
  return signatures.sort((a, b) => compareCodeUnits(a.keyId, b.keyId));
}
