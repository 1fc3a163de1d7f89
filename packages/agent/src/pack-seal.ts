/**
 * Seals of installed packs (ADR 0022): what this agent process saw of an installed pack's files
 * when it wrote them or last hashed them in full — each regular file's path, size, device,
 * inode, modification and change times (nanoseconds). A pack whose files still stat exactly as
 * sealed holds the bytes that were hashed, so going back to it needs no re-hash: a revert is
 * a flip.
 *
 * Why the stat is enough: every write, truncate, chmod, rename over or `utimes` sets a file's
 * change time to now, and no file operation sets it back; replacing a file gives it a new
 * inode; adding or removing one changes the set of paths. Only writing to the block device
 * or setting the clock back defeats it, and either needs the privileges that could replace
 * the agent itself.
 *
 * File times come from the kernel's coarse clock (a tick of up to 10 ms), so a change within the
 * tick a stamp was taken in can leave the change time as it was. A seal is therefore trusted
 * only for files whose change time is at least RACY_NS older than the moment the stamps were
 * taken (as git treats a "racily clean" index entry); an install waits that long before it
 * seals what it wrote.
 *
 * Seals live in memory only. A seal on disk could be rewritten along with the files it
 * describes; a new process hashes a pack in full before it seals it.
 */
import { lstat, readdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { LockgateError } from '@lockgate/core';
import type { Digest } from '@lockgate/core';

/** One regular file's stat as sealed. */
export interface FileStamp {
  size: bigint;
  dev: bigint;
  ino: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** Every regular file below a pack directory, by relative POSIX path, and when it was stamped. */
export interface TreeStamps {
  files: ReadonlyMap<string, FileStamp>;
  /** the wall clock (ns) just before the first file was stamped */
  at: bigint;
}

/** How much older than its stamp a file's change time must be for the stamp to be trusted. */
export const RACY_NS = 25_000_000n;

/**
 * Stats every entry below dir without reading any file. Anything but a directory or a regular
 * file (a symbolic link, a device) is PACK_FILE_UNLISTED: an installed pack holds regular
 * files only.
 */
export async function stampTree(dir: string): Promise<TreeStamps> {
  const at = BigInt(Date.now()) * 1_000_000n;
  return { files: await stampFiles(dir, ''), at };
}

/**
 * stampTree once no file's change time is racy: waits until RACY_NS have passed since the
 * newest change, for a tree just written.
 */
export async function settledStamps(dir: string): Promise<TreeStamps> {
  for (;;) {
    const stamps = await stampTree(dir);
    const wait = newestChange(stamps) + RACY_NS - stamps.at;
    if (wait < 0n) return stamps;
    await sleep(Number(wait / 1_000_000n) + 1);
  }
}

/**
 * True when `current` (stamps just taken) shows the tree exactly as sealed — the same paths,
 * each with the same stat — and no sealed file had changed within RACY_NS of its seal.
 */
export function matchesSeal(current: TreeStamps, seal: TreeStamps): boolean {
  return newestChange(seal) + RACY_NS < seal.at && sameFiles(current.files, seal.files);
}

function newestChange(stamps: TreeStamps): bigint {
  let newest = 0n;
  for (const stamp of stamps.files.values()) if (stamp.ctimeNs > newest) newest = stamp.ctimeNs;
  return newest;
}

async function stampFiles(dir: string, prefix: string): Promise<Map<string, FileStamp>> {
  const stamps = new Map<string, FileStamp>();
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      for (const [inner, stamp] of await stampFiles(full, path)) stamps.set(inner, stamp);
    } else if (entry.isFile()) {
      const stat = await lstat(full, { bigint: true });
      if (!stat.isFile()) throw notRegular(path);
      stamps.set(path, {
        size: stat.size,
        dev: stat.dev,
        ino: stat.ino,
        mtimeNs: stat.mtimeNs,
        ctimeNs: stat.ctimeNs,
      });
    } else {
      throw notRegular(path);
    }
  }
  return stamps;
}

/** True when both trees hold the same paths with the same stamps. */
export function sameFiles(
  a: ReadonlyMap<string, FileStamp>,
  b: ReadonlyMap<string, FileStamp>,
): boolean {
  if (a.size !== b.size) return false;
  for (const [path, x] of a) {
    const y = b.get(path);
    if (
      y === undefined ||
      x.size !== y.size ||
      x.dev !== y.dev ||
      x.ino !== y.ino ||
      x.mtimeNs !== y.mtimeNs ||
      x.ctimeNs !== y.ctimeNs
    ) {
      return false;
    }
  }
  return true;
}

/** The seals this process holds, by pack digest. */
export type PackSeals = Map<Digest, TreeStamps>;

function notRegular(path: string): LockgateError {
  return new LockgateError(
    'PACK_FILE_UNLISTED',
    `The installed pack holds ${path}, which is not a regular file.`,
    { details: { path } },
  );
}
