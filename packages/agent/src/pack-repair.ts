/**
 * Checks of installed packs and the repair of a damaged one from the cache. A repair never
 * writes into the directory `current` serves: it extracts a verified cached pack file into a
 * fresh directory beside the agent's, then renames the damaged directory away and the fresh
 * one into its place (between the two renames `current` leads nowhere; a crash there is
 * repaired again on the next start). A cached file that fails its checks is removed.
 */
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { isLockgateError, LockgateError } from '@lockgate/core';
import type { Digest, PublicKeyInfo, VerifiedPack } from '@lockgate/core';
import { AgentPaths } from './agent-state.ts';
import { errnoOf, fsyncDirectory, removeTree, temporarySibling } from './atomic-fs.ts';
import type { PackCache } from './pack-cache.ts';
import { installPack, manifestPath, packDir } from './pack-install.ts';
import type { PackSeals } from './pack-seal.ts';
import { verifyInstalledPack, verifyPackFile } from './pack-verification.ts';

/**
 * The installed pack verified against its stored manifest, or the LockgateError why not. With
 * seals, a pack whose files still match its seal is not re-hashed, one that verifies in full
 * is sealed, and one that fails loses its seal.
 */
export async function checkInstalled(
  paths: AgentPaths,
  digest: Digest,
  trustedKeys: readonly PublicKeyInfo[],
  seals?: PackSeals,
): Promise<VerifiedPack | LockgateError> {
  try {
    const verified = await verifyInstalledPack(
      packDir(paths, digest),
      manifestPath(paths, digest),
      { expectedDigest: digest, trustedKeys },
      seals?.get(digest),
    );
    if (verified.stamps === null) seals?.delete(digest);
    else seals?.set(digest, verified.stamps);
    return verified;
  } catch (error) {
    seals?.delete(digest);
    if (isLockgateError(error)) return error;
    return new LockgateError('PACK_FILE_MISSING', `The installed pack ${digest} cannot be read.`, {
      cause: error,
      details: { pack: digest },
    });
  }
}

/** True when the pack was re-extracted from a verified cached file and verifies in place. */
export async function repairFromCache(
  paths: AgentPaths,
  cache: PackCache,
  digest: Digest,
  trustedKeys: readonly PublicKeyInfo[],
  seals: PackSeals,
  onFailure: (message: string) => void,
): Promise<boolean> {
  seals.delete(digest);
  const file = await cache.lookup(digest);
  if (file === null) return false;
  let contents: Awaited<ReturnType<typeof verifyPackFile>>;
  try {
    contents = await verifyPackFile(file, { expectedDigest: digest, trustedKeys });
  } catch (error) {
    if (!isLockgateError(error)) throw error;
    await cache.remove(digest);
    return false;
  }
  const staging = new AgentPaths(temporarySibling(join(paths.dir, 'repair')));
  try {
    await mkdir(staging.packs, { recursive: true });
    await installPack(staging, digest, contents.manifest, contents.files);
    const damaged = temporarySibling(packDir(paths, digest));
    await rename(packDir(paths, digest), damaged).catch((error: unknown) => {
      if (errnoOf(error) !== 'ENOENT') throw error;
    });
    await rename(packDir(staging, digest), packDir(paths, digest));
    await rename(manifestPath(staging, digest), manifestPath(paths, digest));
    await fsyncDirectory(paths.packs);
    await removeTree(damaged);
  } catch (error) {
    onFailure(`Repairing ${digest} from the cache failed: ${messageOf(error)}`);
    return false;
  } finally {
    await removeTree(staging.dir);
  }
  return !((await checkInstalled(paths, digest, trustedKeys, seals)) instanceof LockgateError);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
