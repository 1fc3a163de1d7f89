import { randomBytes } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

const HEX_KEY = /^[0-9a-f]{64}$/;

/** An inclusive byte range, as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Content-addressed files under `<root>/sha256/<first 2 hex>/<hex>`. Writes are atomic
 * (temporary file in the same directory, fsync, rename, fsync of the directory), so a reader
 * sees the whole file or none, even after a crash. Files are created 0600 and directories
 * 0700: only the server's user reads them (it serves them to agents itself).
 */
export interface BlobStore {
  /** Stores bytes under the hex key; `created` is false when the key was already stored. */
  put(hex: string, bytes: Uint8Array): Promise<{ created: boolean }>;
  /** Byte size of the stored file, or null when absent. */
  size(hex: string): Promise<number | null>;
  /** A read stream of the whole file or of an inclusive byte range. */
  read(hex: string, range?: ByteRange): Readable;
  /** Removes the file when present (cleanup of a failed transaction). */
  delete(hex: string): Promise<void>;
  /** Where the file for the key lives. */
  pathOf(hex: string): string;
}

export function createBlobStore(root: string): BlobStore {
  const directoryOf = (hex: string): string => join(root, 'sha256', checkKey(hex).slice(0, 2));
  const pathOf = (hex: string): string => join(directoryOf(hex), hex);

  // A stat of a local file takes microseconds in the calling turn; through the thread pool it
  // cost a turn of the event loop (10–90 ms under a fleet's load), and every release context
  // asks it (evidence: the pack's file is stored).
  const size = (hex: string): Promise<number | null> =>
    new Promise((resolve) => {
      resolve(statSync(pathOf(hex), { throwIfNoEntry: false })?.size ?? null);
    });

  return {
    pathOf,
    size,

    async put(hex, bytes) {
      if ((await size(hex)) !== null) return { created: false };
      const directory = directoryOf(hex);
      await mkdir(directory, { recursive: true, mode: 0o700 });
      const temporary = join(directory, `.${hex}.${randomBytes(6).toString('hex')}.tmp`);
      try {
        const file = await open(temporary, 'wx', 0o600);
        try {
          await file.writeFile(bytes);
          await file.sync();
        } finally {
          await file.close();
        }
        await rename(temporary, pathOf(hex));
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      }
      await syncDirectory(directory);
      return { created: true };
    },

    read(hex, range) {
      return createReadStream(
        pathOf(hex),
        range === undefined ? {} : { start: range.start, end: range.end },
      );
    },

    async delete(hex) {
      await rm(pathOf(hex), { force: true });
      await syncDirectory(directoryOf(hex));
    },
  };
}

function checkKey(hex: string): string {
  if (!HEX_KEY.test(hex)) throw new Error('A blob key must be 64 lowercase hex characters');
  return hex;
}

/** Makes a rename or unlink in the directory durable. */
async function syncDirectory(directory: string): Promise<void> {
  let handle;
  try {
    handle = await open(directory, 'r');
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'ENOENT';
}
