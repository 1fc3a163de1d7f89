import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * File-system steps that survive `kill -9` and power loss: write a temporary file, fsync it,
 * rename it over the destination, fsync the directory. A reader sees the old bytes or the new
 * ones, never a mix.
 */

/** A fresh name beside `path` for a temporary file or directory: `<base>.tmp-<random>`. */
export function temporarySibling(path: string): string {
  return join(dirname(path), `${basename(path)}.tmp-${randomBytes(6).toString('hex')}`);
}

/** True when a directory entry is a temporary left by an interrupted write. */
export function isTemporaryName(name: string): boolean {
  return /\.tmp-[0-9a-f]{12}$/.test(name);
}

/** Writes bytes to a new file and fsyncs it; fails when the file exists. */
export async function writeFileDurably(
  path: string,
  bytes: Uint8Array | string,
  mode = 0o644,
): Promise<void> {
  const handle = await open(path, 'wx', mode);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replaces `path` with `bytes` atomically (temporary file + fsync + rename + fsync of the directory). */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const temporary = temporarySibling(path);
  try {
    await writeFileDurably(temporary, bytes);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  await fsyncDirectory(dirname(path));
}

/** fsyncs a directory so that the entries created, renamed or removed in it are durable. */
export async function fsyncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Removes a file or directory tree; absent is fine. */
export async function removeTree(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

/** The errno code of a Node.js system error, or undefined. */
export function errnoOf(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
