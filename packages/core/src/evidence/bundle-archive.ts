/**
 * An evidence bundle as one .tar.gz: its files (name → bytes) written deterministically (sorted
 * names, mtime 0, mode 0644, uid/gid 0, the gzip OS byte 255) and read back with bounds.
 *
 * The reader (a plain ustar parser: fast for the many small files of a bundle) accepts regular
 * files and directory entries only, names of lower-case letters,
 * digits and `._-/` without empty, `.` or `..` segments, no duplicates, and refuses anything
 * else with BUNDLE_INVALID (details.entry). It stops decompressing past `maxBytes`.
 */
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { pack } from 'tar-stream';
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
  const files = new Map<string, Uint8Array>();
  let count = 0;
  let total = 0;
  for (let at = 0; ;) {
    if (at + BLOCK > tarBytes.length)
      throw invalid('', 'The bundle tar ends without its end blocks.');
    const header = tarBytes.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) break;
    const entry = readHeader(header);
    const { name, type, size } = entry;
    at += BLOCK;
    count += 1;
    if (count > maxEntries) throw invalid(name, `The bundle has over ${maxEntries} entries.`);
    if (type === '5') {
      checkName(name.endsWith('/') ? name.slice(0, -1) : name);
      continue;
    }
    if (type !== '0' && type !== '\0') {
      throw invalid(
        name,
        `The entry ${name} is not a regular file (type ${JSON.stringify(type)}).`,
      );
    }
    checkName(name);
    if (files.has(name)) throw invalid(name, `The bundle holds ${name} twice.`);
    total += size;
    if (total > maxBytes) throw invalid(name, `The bundle's files exceed ${maxBytes} bytes.`);
    if (at + size > tarBytes.length) throw invalid(name, `The entry ${name} is cut short.`);
    const data = tarBytes.subarray(at, at + size);
    files.set(name, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    at += Math.ceil(size / BLOCK) * BLOCK;
  }
  return files;
}

const BLOCK = 512;

/** A ustar header: name (with its prefix), type flag and size; its checksum checked. */
function readHeader(header: Buffer): { name: string; type: string; size: number } {
  const text = (from: number, length: number): string => {
    const field = header.subarray(from, from + length);
    const end = field.indexOf(0);
    return field.subarray(0, end < 0 ? length : end).toString('utf8');
  };
  const octal = (from: number, length: number, what: string): number => {
    const value = text(from, length).trim();
    if (!/^[0-7]{1,12}$/.test(value))
      throw invalid(text(0, 100), `The tar header's ${what} is not octal.`);
    return parseInt(value, 8);
  };
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (header[i] as number);
  if (octal(148, 8, 'checksum') !== sum)
    throw invalid(text(0, 100), 'A tar header checksum is wrong.');
  if (text(257, 5) !== 'ustar') throw invalid(text(0, 100), 'The bundle is not a ustar archive.');
  const prefix = text(345, 155);
  const name = prefix === '' ? text(0, 100) : `${prefix}/${text(0, 100)}`;
  return { name, type: String.fromCharCode(header[156] as number), size: octal(124, 12, 'size') };
}

function checkName(name: string): void {
  if (name.length > 255 || !NAME.test(name) || name.split('/').some((s) => /^\.+$/.test(s))) {
    throw invalid(name, `The entry name ${JSON.stringify(name)} is not allowed in a bundle.`);
  }
}

function invalid(entry: string, message: string): LockgateError {
  return new LockgateError('BUNDLE_INVALID', message, { details: { entry, item: entry } });
}
