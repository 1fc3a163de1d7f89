import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  checkCompatibility as checkRuntimeCompatibility,
  LockgateError,
  parseManifestJson,
  rollbackAuthorized,
  verifyPack,
  PACK_READ_BYTES,
  verifyPackArchive,
} from '@lockgate/core';
import type {
  ArchiveLimits,
  ChannelIndexPayload,
  Digest,
  Instant,
  PackFile,
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
 *   → the manifest's build gates all PASS (BUILD_GATE_FAILED, PROVENANCE_INCOMPLETE)
 *   → each file's size and hash (PACK_FILE_MISSING, PACK_FILE_HASH_MISMATCH), the archive
 *     bounded by what the manifest declares (PACK_ARCHIVE_TOO_LARGE)
 *   → no unlisted file (PACK_FILE_UNLISTED)
 *   → compatibility with this runtime (PACK_INCOMPATIBLE)
 *   → policy (PACK_REVOKED, RELEASE_BELOW_FLOOR).
 * The first five are core's `verifyPackArchive`, which streams the pack file: the manifest
 * comes first and is checked against the index's digest before any payload is inflated, and
 * the inflated archive is never held in memory. The agent adds the last two.
 */

export interface IntegrityOptions {
  expectedDigest: Digest;
  trustedKeys: readonly PublicKeyInfo[];
  limits?: ArchiveLimits;
}

/** The payload of a verified pack file, streamed again on demand. */
export interface PackPayload {
  /**
   * Reads the pack file once more, handing each listed file's bytes to onFile as they stream;
   * every check runs again, so a file changed since it was verified is refused (and onFile
   * must then discard what it wrote).
   */
  forEachFile(
    onFile: (file: PackFile, content: AsyncIterable<Uint8Array>) => Promise<void>,
  ): Promise<void>;
}

export interface VerifiedPackContents extends VerifiedPack {
  files: PackPayload;
}

/** Streams a pack file and checks its integrity (manifest → digest → signatures → gates → files). */
export async function verifyPackFile(
  path: string,
  options: IntegrityOptions,
): Promise<VerifiedPackContents> {
  const verify = (onFile?: Parameters<PackPayload['forEachFile']>[0]): Promise<VerifiedPack> =>
    verifyPackArchive(createReadStream(path, { highWaterMark: PACK_READ_BYTES }), {
      trustedKeys: [...options.trustedKeys],
      expectedDigest: options.expectedDigest,
      ...(options.limits === undefined ? {} : { limits: options.limits }),
      ...(onFile === undefined ? {} : { onFile }),
    });
  const verified = await verify();
  return {
    ...verified,
    files: {
      async forEachFile(onFile) {
        await verify(onFile);
      },
    },
  };
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
