import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PACK_READ_BYTES } from '@lockgate/core';
import type { PackInputFile } from '@lockgate/core';
import { CliError } from './cli-error.ts';

/**
 * Reads every regular file under dir as pack input, with relative POSIX paths, sorted.
 * Symbolic links and special files are refused (PACK_SOURCE_UNSUPPORTED): a pack holds
 * exactly the bytes it names, never a pointer to something outside it.
 */
export async function readPackSource(dir: string): Promise<PackInputFile[]> {
  try {
    const root = await stat(dir);
    if (!root.isDirectory()) {
      throw new CliError('FILE_UNREADABLE', `${dir} is not a directory`, {
        details: { path: dir },
      });
    }
  } catch (error) {
    if (error instanceof CliError) {
      throw error;
    }
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new CliError('FILE_UNREADABLE', `Cannot read directory ${dir} (${code})`, {
      details: { path: dir },
      cause: error,
    });
  }

  const files: PackInputFile[] = [];
  const walk = async (absolute: string, relative: string[]): Promise<void> => {
    const entries = await readdir(absolute, { withFileTypes: true });
    for (const entry of entries) {
      const entryPath = [...relative, entry.name];
      const shown = entryPath.join('/');
      if (entry.isSymbolicLink()) {
        throw new CliError(
          'PACK_SOURCE_UNSUPPORTED',
          `${shown} is a symbolic link; a pack holds regular files only`,
          { details: { path: shown } },
        );
      }
      if (entry.isDirectory()) {
        await walk(join(absolute, entry.name), entryPath);
      } else if (entry.isFile()) {
        files.push({ path: shown, bytes: await readFile(join(absolute, entry.name)) });
      } else {
        throw new CliError(
          'PACK_SOURCE_UNSUPPORTED',
          `${shown} is not a regular file; a pack holds regular files only`,
          { details: { path: shown } },
        );
      }
    }
  };
  await walk(dir, []);
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * The bytes of a pack file as they are read, chunk by chunk, so a verifier can refuse it
 * before it is all read. A file that cannot be read is FILE_UNREADABLE, naming it as shown.
 */
export async function* packFileChunks(path: string, shown: string): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: PACK_READ_BYTES })) {
      yield chunk as Uint8Array;
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new CliError('FILE_UNREADABLE', `Cannot read pack file ${shown} (${code})`, {
      details: { path },
      cause: error,
    });
  }
}
