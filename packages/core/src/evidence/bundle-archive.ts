/**
 * An evidence bundle as one .tar.gz: its files (name → bytes) written deterministically (sorted
 * names, mtime 0, mode 0644, uid/gid 0, the gzip OS byte 255) and read back with bounds.
 *
 * The reader accepts regular files and directory entries only, names of lower-case letters,
 * digits and `._-/` without empty, `.` or `..` segments, no duplicates, and refuses anything
 * else with BUNDLE_INVALID (details.entry). It stops decompressing past `maxBytes`.
 */
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { extract, pack } from 'tar-stream';
import { LockgateError } from '../errors.ts';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** 1 GiB of files and 1,000,000 entries by default. */
export const DEFAULT_BUNDLE_LIMITS = Object.freeze({ maxBytes: 1 << 30, maxEntries: 1_000_000 });

const NAME = /^[a-z0-9][a-z0-9._-]*(?:\/[a-z0-9][a-z0-9._-]*)*$/;
const GZIP_OS_BYTE = 9;

/** Writes files (and empty directories, names ending in `/`) as a deterministic .tar.gz. */
export async function writeEvidenceBundle(
  files: ReadonlyMap<string, Uint8Array>,
  directories: readonly string[] = [],
): Promise<Uint8Array> {
  const tar = pack();
  const chunks: Uint8Array[] = [];
  const drained = (async () => {
    for await (const chunk of tar) chunks.push(chunk as Uint8Array);
  })();
  const header = { mode: 0o644, mtime: new Date(0), uid: 0, gid: 0, uname: '', gname: '' };
  for (const dir of [...directories].sort()) {
    const name = dir.endsWith('/') ? dir.slice(0, -1) : dir;
    checkName(name);
    tar.entry({ ...header, name: `${name}/`, type: 'directory', mode: 0o755 });
  }
  for (const name of [...files.keys()].sort()) {
    checkName(name);
    const bytes = files.get(name) as Uint8Array;
    tar.entry({ ...header, name, type: 'file', size: bytes.byteLength }, Buffer.from(bytes));
  }
  tar.finalize();
  await drained;
  const gz = await gzipAsync(Buffer.concat(chunks), { level: 6 });
  gz[GZIP_OS_BYTE] = 255;
  return new Uint8Array(gz.buffer, gz.byteOffset, gz.byteLength);
}

/** Reads a bundle .tar.gz into its files; directory entries are skipped. */
export async function readEvidenceBundle(
  bytes: Uint8Array,
  limits: { maxBytes?: number; maxEntries?: number } = {},
): Promise<Map<string, Uint8Array>> {
  const maxBytes = limits.maxBytes ?? DEFAULT_BUNDLE_LIMITS.maxBytes;
  const maxEntries = limits.maxEntries ?? DEFAULT_BUNDLE_LIMITS.maxEntries;
  let tarBytes: Buffer;
  try {
    tarBytes = await gunzipAsync(bytes, { maxOutputLength: maxBytes + maxEntries * 1024 });
  } catch (cause) {
    throw new LockgateError('BUNDLE_INVALID', 'The bundle is not a readable .tar.gz file.', {
      cause,
      details: { entry: null },
    });
  }
  const extractor = extract();
  const entries = extractor[Symbol.asyncIterator]();
  extractor.end(tarBytes);
  const files = new Map<string, Uint8Array>();
  let count = 0;
  let total = 0;
  try {
    for (let next = await entries.next(); next.done !== true; next = await entries.next()) {
      const entry = next.value;
      const { name, type, size } = entry.header;
      count += 1;
      if (count > maxEntries) throw invalid(name, `The bundle has over ${maxEntries} entries.`);
      if (type === 'directory') {
        checkName(name.endsWith('/') ? name.slice(0, -1) : name);
        entry.resume();
        continue;
      }
      if (type !== 'file') throw invalid(name, `The entry ${name} is a ${type}, not a file.`);
      checkName(name);
      if (files.has(name)) throw invalid(name, `The bundle holds ${name} twice.`);
      total += size ?? 0;
      if (total > maxBytes) throw invalid(name, `The bundle's files exceed ${maxBytes} bytes.`);
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      const data = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      files.set(name, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
  } catch (cause) {
    extractor.destroy();
    if (cause instanceof LockgateError) throw cause;
    throw new LockgateError('BUNDLE_INVALID', 'The bundle is not a readable tar archive.', {
      cause,
      details: { entry: null },
    });
  }
  return files;
}

function checkName(name: string): void {
  if (name.length > 255 || !NAME.test(name) || name.split('/').some((s) => /^\.+$/.test(s))) {
    throw invalid(name, `The entry name ${JSON.stringify(name)} is not allowed in a bundle.`);
  }
}

function invalid(entry: string, message: string): LockgateError {
  return new LockgateError('BUNDLE_INVALID', message, { details: { entry, item: entry } });
}
