import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  checkCompatibility as checkRuntimeCompatibility,
  LockgateError,
  parseManifestJson,
  readPackArchive,
  rollbackAuthorized,
  verifyPack,
} from '@lockgate/core';
import type {
  ArchiveLimits,
  ChannelIndexPayload,
  Digest,
  Instant,
  PackManifest,
  PublicKeyInfo,
  RuntimeProfile,
  VerifiedPack,
} from '@lockgate/core';

export type { RuntimeProfile } from '@lockgate/core';

/**
 * The agent's verification, in the order the failures are reported:
 *   manifest and schema (PACK_MANIFEST_INVALID; an unreadable archive is PACK_ARCHIVE_INVALID)
 *   → digest = the one the index names (PACK_DIGEST_MISMATCH)
 *   → signatures by pinned build keys (PACK_SIGNATURE_INVALID, PACK_SIGNER_UNTRUSTED)
 *   → each file's size and hash (PACK_FILE_MISSING, PACK_FILE_HASH_MISMATCH)
 *   → no unlisted file (PACK_FILE_UNLISTED)
 *   → compatibility with this runtime (PACK_INCOMPATIBLE)
 *   → policy (PACK_REVOKED, RELEASE_BELOW_FLOOR).
 * The first four are core's `verifyPack`; the agent adds the last two.
 */

export interface IntegrityOptions {
  expectedDigest: Digest;
  trustedKeys: readonly PublicKeyInfo[];
  limits?: ArchiveLimits;
}

export interface VerifiedPackContents extends VerifiedPack {
  files: Map<string, Uint8Array>;
}

/** Reads a pack file and checks its integrity (manifest → digest → signatures → files). */
export async function verifyPackFile(
  path: string,
  options: IntegrityOptions,
): Promise<VerifiedPackContents> {
  const bytes = await readFile(path);
  const contents = await readPackArchive(bytes, options.limits);
  const verified = verifyPack(contents.manifest, contents.files, {
    trustedKeys: [...options.trustedKeys],
    expectedDigest: options.expectedDigest,
  });
  return { ...verified, files: contents.files };
}

/**
 * Checks an installed pack directory against the manifest stored beside it, exactly like a
 * pack file: manifest → digest → signatures → every file's size and hash → nothing unlisted.
 * A symbolic link or other non-regular entry inside the directory is PACK_FILE_UNLISTED.
 */
export async function verifyInstalledPack(
  packDir: string,
  manifestPath: string,
  options: IntegrityOptions,
): Promise<VerifiedPack> {
  const manifest = parseManifestJson(await readFile(manifestPath));
  const files = await readTree(packDir);
  return verifyPack(manifest, files, {
    trustedKeys: [...options.trustedKeys],
    expectedDigest: options.expectedDigest,
  });
}

/** PACK_INCOMPATIBLE unless every `requires` entry of the pack holds for this runtime. */
export function checkCompatibility(manifest: PackManifest, runtime: RuntimeProfile): void {
  checkRuntimeCompatibility(manifest.requires, runtime);
}

export interface PolicyInput {
  digest: Digest;
  sequence: number;
  /** the highest sequence this target committed, or null */
  highestActivatedSequence: number | null;
}

/**
 * Policy against the newest accepted index: not revoked (PACK_REVOKED); sequence not below the
 * index floor nor below the highest sequence this target committed, unless the index carries
 * an unexpired rollback authorization for the pack (RELEASE_BELOW_FLOOR).
 */
export function checkPolicy(input: PolicyInput, index: ChannelIndexPayload, now: Instant): void {
  const { digest, sequence, highestActivatedSequence } = input;
  if (index.revoked.includes(digest)) {
    throw new LockgateError('PACK_REVOKED', `The channel index revokes ${digest}.`, {
      details: { pack: digest, indexVersion: index.version },
    });
  }
  const floors: { floor: number; source: 'index' | 'target' }[] = [];
  if (index.floor !== null) floors.push({ floor: index.floor, source: 'index' });
  if (highestActivatedSequence !== null) {
    floors.push({ floor: highestActivatedSequence, source: 'target' });
  }
  for (const { floor, source } of floors) {
    if (sequence < floor && !rollbackAuthorized(index.rollbackAuthorizations, digest, now)) {
      throw new LockgateError(
        'RELEASE_BELOW_FLOOR',
        source === 'index'
          ? `The pack sequence ${sequence} is below the channel floor ${floor} and no rollback authorization covers it.`
          : `The pack sequence ${sequence} is below ${floor}, the highest this target committed, and no rollback authorization covers it.`,
        { details: { pack: digest, sequence, floor, source } },
      );
    }
  }
}

/**
 * Every regular file below dir, keyed by its relative POSIX path. Anything else (a symbolic
 * link, a device) is PACK_FILE_UNLISTED: an installed pack holds regular files only.
 */
async function readTree(dir: string, prefix = ''): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries) {
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) {
      for (const [inner, bytes] of await readTree(join(dir, entry.name), path)) {
        files.set(inner, bytes);
      }
    } else if (entry.isFile()) {
      files.set(path, await readFile(join(dir, entry.name)));
    } else {
      throw new LockgateError(
        'PACK_FILE_UNLISTED',
        `The installed pack holds ${path}, which is not a regular file.`,
        { details: { path } },
      );
    }
  }
  return files;
}
