import { mkdir, open, readdir, readlink, rename, stat, symlink, unlink } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { canonicalJson, isDigest } from '@lockgate/core';
import type { Digest, PackManifest } from '@lockgate/core';
import {
  errnoOf,
  fsyncDirectory,
  isTemporaryName,
  removeTree,
  temporarySibling,
  writeFileAtomic,
} from './atomic-fs.ts';
import type { AgentPaths } from './agent-state.ts';
import { settledStamps } from './pack-seal.ts';
import type { TreeStamps } from './pack-seal.ts';
import type { PackPayload } from './pack-verification.ts';

/**
 * The installed packs and the `current` pointer:
 *
 *   DIR/packs/<hex>/                 the pack's files, exactly those of the manifest, immutable
 *   DIR/packs/<hex>.manifest.json    its manifest, written last: the completeness marker
 *   DIR/current -> packs/<hex>       a symbolic link, replaced by rename (atomic)
 *
 * A pack directory without its marker is an interrupted install and is removed.
 */

const MANIFEST_SUFFIX = '.manifest.json';
const PACK_FILE_MODE = 0o444;

export function hexOf(digest: Digest): string {
  return digest.slice('sha256:'.length);
}

export function packDir(paths: AgentPaths, digest: Digest): string {
  return join(paths.packs, hexOf(digest));
}

export function manifestPath(paths: AgentPaths, digest: Digest): string {
  return join(paths.packs, `${hexOf(digest)}${MANIFEST_SUFFIX}`);
}

/** True when the pack's directory and its completeness marker both exist. */
export async function isInstalled(paths: AgentPaths, digest: Digest): Promise<boolean> {
  return (await exists(packDir(paths, digest))) && (await exists(manifestPath(paths, digest)));
}

/**
 * Extracts a verified pack's files into `DIR/packs/<hex>/` as they stream from its pack file
 * (checked once more on the way): a temporary directory, every file and directory fsynced,
 * renamed into place, then the manifest marker written atomically. Does nothing when the pack
 * is already complete; removes an incomplete one first, and the temporary directory when the
 * stream is refused. Answers the stamps of the files it wrote, to seal the pack with (taken
 * once their change times are no longer racy and before the rename, which leaves them as they
 * are); null when it wrote none.
 */
export async function installPack(
  paths: AgentPaths,
  digest: Digest,
  manifest: PackManifest,
  files: PackPayload,
): Promise<TreeStamps | null> {
  if (await isInstalled(paths, digest)) return null;
  const target = packDir(paths, digest);
  await removeTree(target);
  await mkdir(paths.packs, { recursive: true });
  const temporary = temporarySibling(target);
  await mkdir(temporary);
  let stamps: TreeStamps;
  try {
    const directories = new Set<string>([temporary]);
    await files.forEachFile(async (file, content) => {
      const path = join(temporary, ...file.path.split('/'));
      const parent = dirname(path);
      if (!directories.has(parent)) {
        await mkdir(parent, { recursive: true });
        for (let d = parent; d.length > temporary.length; d = dirname(d)) directories.add(d);
      }
      await writeStreamDurably(path, content, PACK_FILE_MODE);
    });
    // Deepest first, so each directory's entries are durable before its parent's.
    for (const directory of [...directories].sort((a, b) => b.length - a.length)) {
      await fsyncDirectory(directory);
    }
    stamps = await settledStamps(temporary);
    await rename(temporary, target);
  } catch (error) {
    await removeTree(temporary);
    throw error;
  }
  await fsyncDirectory(paths.packs);
  await writeFileAtomic(manifestPath(paths, digest), `${canonicalJson(manifest)}\n`);
  return stamps;
}

/** The pack `DIR/current` points at, or null when there is no link or it is not one of ours. */
export async function readCurrent(paths: AgentPaths): Promise<Digest | null> {
  let target: string;
  try {
    target = await readlink(paths.current);
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'ENOENT' || code === 'EINVAL') return null;
    throw error;
  }
  const match = /^packs\/([0-9a-f]{64})$/.exec(target);
  if (match === null) return null;
  const digest = `sha256:${match[1] ?? ''}`;
  return isDigest(digest) ? digest : null;
}

/**
 * Points `DIR/current` at the pack (or removes it for null): a new link
 * `DIR/current.tmp-…` renamed over `DIR/current`, then the directory fsynced.
 */
export async function flipCurrent(paths: AgentPaths, digest: Digest | null): Promise<void> {
  if (digest === null) {
    await unlink(paths.current).catch((error: unknown) => {
      if (errnoOf(error) !== 'ENOENT') throw error;
    });
  } else {
    const link = temporarySibling(paths.current);
    await symlink(relative(paths.dir, packDir(paths, digest)), link);
    try {
      await rename(link, paths.current);
    } catch (error) {
      await unlink(link).catch(() => undefined);
      throw error;
    }
  }
  await fsyncDirectory(paths.dir);
}

/** Every complete installed pack. */
export async function listInstalled(paths: AgentPaths): Promise<Digest[]> {
  const names = await readdir(paths.packs).catch(() => [] as string[]);
  const digests: Digest[] = [];
  for (const name of names) {
    const digest = `sha256:${name}`;
    if (isDigest(digest) && (await isInstalled(paths, digest))) digests.push(digest);
  }
  return digests.sort();
}

/**
 * Removes what an interrupted run left behind: temporary links, files and directories, pack
 * directories without their marker and markers without their directory.
 */
export async function removeLeftovers(paths: AgentPaths): Promise<void> {
  for (const name of await readdir(paths.dir)) {
    if (isTemporaryName(name)) await removeTree(join(paths.dir, name));
  }
  for (const name of await readdir(paths.packs)) {
    const path = join(paths.packs, name);
    if (isTemporaryName(name)) {
      await removeTree(path);
      continue;
    }
    const hex = name.endsWith(MANIFEST_SUFFIX) ? name.slice(0, -MANIFEST_SUFFIX.length) : name;
    const digest = `sha256:${hex}`;
    if (!isDigest(digest)) continue;
    if (!(await isInstalled(paths, digest))) await removeTree(path);
  }
}

/** Removes an installed pack (its marker first, so a crash leaves an incomplete install). */
export async function uninstallPack(paths: AgentPaths, digest: Digest): Promise<void> {
  await removeTree(manifestPath(paths, digest));
  await fsyncDirectory(paths.packs);
  await removeTree(packDir(paths, digest));
}

/** Writes streamed bytes to a new file and fsyncs it; fails when the file exists. */
async function writeStreamDurably(
  path: string,
  content: AsyncIterable<Uint8Array>,
  mode: number,
): Promise<void> {
  const handle = await open(path, 'wx', mode);
  try {
    for await (const chunk of content) await handle.write(chunk);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return false;
    throw error;
  }
}
