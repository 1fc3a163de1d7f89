import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  checkCompatibility as checkRuntimeCompatibility,
  LockgateError,
  rollbackAuthorized,
  verifyFoundFiles,
  verifyManifest,
  PACK_READ_BYTES,
  verifyPackArchive,
} from '@lockgate/core';
import type {
  ArchiveLimits,
  ChannelIndexPayload,
  Digest,
  FoundFile,
  Instant,
  PackFile,
  PackManifest,
  PublicKeyInfo,
  RuntimeProfile,
  VerifiedPack,
} from '@lockgate/core';
import { matchesSeal, sameFiles, stampTree } from './pack-seal.ts';
import type { TreeStamps } from './pack-seal.ts';

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

/** An installed pack that verified, and the stamps of its files as they were hashed. */
export interface VerifiedInstalledPack extends VerifiedPack {
  /** null when a file changed while it was being hashed: nothing to seal */
  stamps: TreeStamps | null;
}

/**
 * Checks an installed pack directory against the manifest stored beside it, exactly like a
 * pack file: manifest → digest → signatures → every file's size and hash → nothing unlisted.
 * A symbolic link or other non-regular entry inside the directory is PACK_FILE_UNLISTED. Files
 * are hashed as they stream from disk, never held whole. Given a seal (pack-seal.ts) that the
 * files' stats still match, the manifest is checked and no file is read.
 */
export async function verifyInstalledPack(
  packDir: string,
  manifestPath: string,
  options: IntegrityOptions,
  seal?: TreeStamps,
): Promise<VerifiedInstalledPack> {
  const verified = verifyManifest(await readFile(manifestPath), {
    trustedKeys: [...options.trustedKeys],
    expectedDigest: options.expectedDigest,
  });
  const before = await stampTree(packDir);
  if (seal !== undefined && matchesSeal(before, seal)) return { ...verified, stamps: seal };
  const listed = new Set(verified.manifest.files.map((file) => file.path));
  const hashes = new Map<string, string>();
  for (const path of before.files.keys()) {
    if (listed.has(path)) hashes.set(path, await hashFile(join(packDir, ...path.split('/'))));
  }
  const found = new Map<string, FoundFile>();
  for (const [path, stamp] of before.files) {
    found.set(path, { size: Number(stamp.size), sha256: () => hashes.get(path) ?? '' });
  }
  verifyFoundFiles(verified.manifest, found);
  const after = await stampTree(packDir);
  return { ...verified, stamps: sameFiles(before.files, after.files) ? before : null };
}

/** SHA-256 (hex) of a file, read in PACK_READ_BYTES chunks. */
export async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: PACK_READ_BYTES })) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
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
