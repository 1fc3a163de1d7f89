import { randomBytes } from 'node:crypto';
import { rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CliError } from './cli-error.ts';

/** Writes bytes to path all at once or not at all: a temp file in the same directory, then rename. */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temp, bytes, { flag: 'wx', mode: 0o644 });
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new CliError('FILE_UNWRITABLE', `Cannot write ${path} (${code})`, {
      details: { path },
      cause: error,
    });
  }
}

/** Writes a new file; an existing one is never overwritten (FILE_EXISTS). */
export async function writeNewFile(path: string, text: string, mode: number): Promise<void> {
  try {
    await writeFile(path, text, { flag: 'wx', mode });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      throw new CliError('FILE_EXISTS', `${path} already exists; it is not overwritten`, {
        details: { path },
      });
    }
    throw new CliError('FILE_UNWRITABLE', `Cannot write ${path} (${code ?? String(error)})`, {
      details: { path },
      cause: error,
    });
  }
}
