import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { extract, pack } from 'tar-stream';
import type { Header, Pack } from 'tar-stream';
import { canonicalBytes } from './canonical-json.ts';
import { LockgateError } from './errors.ts';
import {
  MAX_PATH_BYTES,
  parseManifestJson,
  unsafePathReason,
  validateManifest,
} from './manifest.ts';
import type { PackManifest } from './manifest.ts';
import { verifyPackFiles } from './pack.ts';

export interface ArchiveLimits {
  /** total uncompressed bytes of all entries (default 1 GiB) */
  maxTotalBytes?: number;
  /** bytes of one entry (default 512 MiB) */
  maxEntryBytes?: number;
  /** number of entries (default 10000) */
  maxEntries?: number;
  /** bytes of manifest.json (default 4 MiB) */
  maxManifestBytes?: number;
}

export interface PackArchiveContents {
  /** manifest.json parsed as JSON, not yet validated */
  manifest: unknown;
  /** raw manifest.json bytes */
  manifestBytes: Uint8Array;
  /** payload files keyed by their manifest path (the archive name minus the `files/` prefix) */
  files: Map<string, Uint8Array>;
}

export const DEFAULT_ARCHIVE_LIMITS: Readonly<Required<ArchiveLimits>> = Object.freeze({
  maxTotalBytes: 1024 ** 3,
  maxEntryBytes: 512 * 1024 ** 2,
  maxEntries: 10_000,
  maxManifestBytes: 4 * 1024 ** 2,
});

const MANIFEST_ENTRY = 'manifest.json';
const FILES_DIRECTORY = 'files';
const FILES_PREFIX = `${FILES_DIRECTORY}/`;
// Tar framing around the entries' bytes, used to bound decompression: per entry a header
// block, padding to 512 bytes and, for a long or non-ASCII name, a pax header block plus its
// records (the name is at most MAX_PATH_BYTES); after the entries the end blocks, which tar
// tools pad to a 10 KiB record.
const ENTRY_FRAMING_BYTES = 4 * 512 + MAX_PATH_BYTES + 1024;
const END_FRAMING_BYTES = 20 * 1024;
const GZIP_OS_BYTE = 9;
const GZIP_OS_UNKNOWN = 255;

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/**
 * Writes a pack file: POSIX (ustar/pax) tar, `manifest.json` first, then each payload file
 * under `files/<path>` in manifest order; deterministic (mtime 0, mode 0644, uid/gid 0);
 * gzip-compressed when gzip is true (the default).
 * The manifest must be valid (PACK_MANIFEST_INVALID) and the files must be exactly those it
 * lists (PACK_FILE_MISSING, PACK_FILE_HASH_MISMATCH, PACK_FILE_UNLISTED); manifest.json holds
 * its JCS form.
 */
export async function writePackArchive(
  manifest: PackManifest,
  files: ReadonlyMap<string, Uint8Array>,
  options: { gzip?: boolean } = {},
): Promise<Uint8Array> {
  const valid = validateManifest(manifest);
  verifyPackFiles(valid, files);
  const tar = pack();
  const chunks: Uint8Array[] = [];
  const drained = (async () => {
    for await (const chunk of tar) chunks.push(chunk as Uint8Array);
  })();
  addEntry(tar, MANIFEST_ENTRY, canonicalBytes(valid));
  for (const file of valid.files) {
    // verifyPackFiles has just checked that every listed file is present.
    addEntry(tar, FILES_PREFIX + file.path, files.get(file.path) ?? new Uint8Array());
  }
  tar.finalize();
  await drained;
  const tarBytes = Buffer.concat(chunks);
  if (options.gzip === false) return plain(tarBytes);
  const gz = await gzipAsync(tarBytes);
  // zlib writes the OS it was built for; 255 ("unknown") keeps the bytes the same everywhere.
  gz[GZIP_OS_BYTE] = GZIP_OS_UNKNOWN;
  return plain(gz);
}

/**
 * Reads a pack file, plain or gzip (detected by magic bytes). Accepts only regular files
 * (and directory entries, ignored); refuses links and devices, absolute or `..` or
 * non-normalized names, duplicates, entries outside `manifest.json` and `files/`
 * (PACK_ARCHIVE_INVALID, details.entry) and bounds sizes (PACK_ARCHIVE_TOO_LARGE).
 * A missing manifest.json is PACK_ARCHIVE_INVALID; manifest.json that is not JSON is
 * PACK_MANIFEST_INVALID. Decompression stops once it exceeds what the limits allow.
 */
export async function readPackArchive(
  bytes: Uint8Array,
  limits: ArchiveLimits = {},
): Promise<PackArchiveContents> {
  const bounds = resolveLimits(limits);
  const maxTarBytes =
    bounds.maxTotalBytes + bounds.maxEntries * ENTRY_FRAMING_BYTES + END_FRAMING_BYTES;
  const tarBytes = isGzip(bytes) ? await gunzipBounded(bytes, maxTarBytes) : bytes;
  if (tarBytes.byteLength > maxTarBytes) {
    throw new LockgateError(
      'PACK_ARCHIVE_TOO_LARGE',
      'The pack file is larger than its limits allow.',
      {
        details: { size: tarBytes.byteLength, limit: maxTarBytes },
      },
    );
  }
  const { manifestBytes, files } = await readEntries(tarBytes, bounds);
  return { manifest: parseManifestJson(manifestBytes), manifestBytes, files };
}

function addEntry(tar: Pack, name: string, bytes: Uint8Array): void {
  tar.entry(
    {
      name,
      type: 'file',
      size: bytes.byteLength,
      mode: 0o644,
      mtime: new Date(0),
      uid: 0,
      gid: 0,
      uname: '',
      gname: '',
    },
    bytes,
  );
}

async function readEntries(
  tarBytes: Uint8Array,
  bounds: Required<ArchiveLimits>,
): Promise<{ manifestBytes: Uint8Array; files: Map<string, Uint8Array> }> {
  const extractor = extract();
  // The iterator listens for entries, so it must exist before the bytes go in.
  const entries = extractor[Symbol.asyncIterator]();
  extractor.end(Buffer.from(tarBytes.buffer, tarBytes.byteOffset, tarBytes.byteLength));
  const names = new Set<string>();
  const files = new Map<string, Uint8Array>();
  let manifestBytes: Uint8Array | undefined;
  let count = 0;
  let total = 0;
  try {
    for (let next = await entries.next(); next.done !== true; next = await entries.next()) {
      const entry = next.value;
      const { name, size } = entry.header;
      // tar-stream reports an unknown type flag as null.
      const type = entry.header.type as Header['type'] | null;
      count += 1;
      if (count > bounds.maxEntries) {
        throw tooLarge(name, `The pack file has more than ${bounds.maxEntries} entries.`, {
          limit: bounds.maxEntries,
        });
      }
      const key = type === 'directory' && name.endsWith('/') ? name.slice(0, -1) : name;
      if (names.has(key)) throw invalid(name, `The pack file holds ${name} twice.`);
      names.add(key);
      if (type === 'directory') {
        if (key !== FILES_DIRECTORY && payloadPath(key) === null) {
          throw invalid(name, `The directory entry ${name} is outside files/ or not normalized.`);
        }
        entry.resume();
        continue;
      }
      if (type !== 'file')
        throw invalid(
          name,
          `The entry ${name} is a ${type ?? 'special entry'}, not a regular file.`,
        );
      const path = name === MANIFEST_ENTRY ? null : payloadPath(name);
      if (name !== MANIFEST_ENTRY && path === null) {
        throw invalid(
          name,
          `The entry ${name} is not manifest.json or a normalized name under files/.`,
        );
      }
      const limit =
        path === null
          ? Math.min(bounds.maxManifestBytes, bounds.maxEntryBytes)
          : bounds.maxEntryBytes;
      if (size > limit) {
        throw tooLarge(name, `The entry ${name} has ${size} bytes, over the limit of ${limit}.`, {
          size,
          limit,
        });
      }
      total += size;
      if (total > bounds.maxTotalBytes) {
        throw tooLarge(
          name,
          `The pack file's entries exceed ${bounds.maxTotalBytes} bytes in all.`,
          {
            limit: bounds.maxTotalBytes,
          },
        );
      }
      const data = await readAll(entry);
      if (path === null) manifestBytes = data;
      else files.set(path, data);
    }
  } catch (cause) {
    extractor.destroy();
    if (cause instanceof LockgateError) throw cause;
    throw new LockgateError(
      'PACK_ARCHIVE_INVALID',
      'The pack file is not a readable tar archive.',
      {
        cause,
        details: { reason: cause instanceof Error ? cause.message : String(cause) },
      },
    );
  }
  if (manifestBytes === undefined) {
    throw new LockgateError('PACK_ARCHIVE_INVALID', 'The pack file has no manifest.json.', {
      details: { entry: MANIFEST_ENTRY },
    });
  }
  return { manifestBytes, files };
}

/** The manifest path of a `files/<path>` entry name, or null when the name is not one. */
function payloadPath(name: string): string | null {
  if (!name.startsWith(FILES_PREFIX)) return null;
  const path = name.slice(FILES_PREFIX.length);
  return unsafePathReason(path) === null ? path : null;
}

async function readAll(entry: AsyncIterable<unknown>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of entry) chunks.push(chunk as Uint8Array);
  return plain(chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks));
}

async function gunzipBounded(bytes: Uint8Array, maxOutputLength: number): Promise<Uint8Array> {
  try {
    return await gunzipAsync(bytes, { maxOutputLength });
  } catch (cause) {
    if (isErrorCode(cause, 'ERR_BUFFER_TOO_LARGE')) {
      throw new LockgateError(
        'PACK_ARCHIVE_TOO_LARGE',
        'The pack file decompresses to more than its limits allow.',
        {
          cause,
          details: { limit: maxOutputLength },
        },
      );
    }
    throw new LockgateError('PACK_ARCHIVE_INVALID', 'The pack file is not valid gzip.', {
      cause,
      details: { reason: cause instanceof Error ? cause.message : String(cause) },
    });
  }
}

function resolveLimits(limits: ArchiveLimits): Required<ArchiveLimits> {
  const resolved = { ...DEFAULT_ARCHIVE_LIMITS };
  for (const key of Object.keys(resolved) as (keyof ArchiveLimits)[]) {
    const value = limits[key];
    if (value === undefined) continue;
    // A NaN or negative bound would let everything through; refuse it instead.
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new LockgateError('BAD_REQUEST', `The archive limit ${key} must be an integer >= 0.`, {
        details: { [key]: value },
      });
    }
    resolved[key] = value;
  }
  return resolved;
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function isErrorCode(value: unknown, code: string): boolean {
  return value instanceof Error && (value as { code?: unknown }).code === code;
}

/** A plain Uint8Array view (no copy) of a Buffer, so callers compare and serialize bytes alike. */
function plain(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function invalid(entry: string, message: string): LockgateError {
  return new LockgateError('PACK_ARCHIVE_INVALID', message, { details: { entry } });
}

function tooLarge(entry: string, message: string, details: Record<string, unknown>): LockgateError {
  return new LockgateError('PACK_ARCHIVE_TOO_LARGE', message, { details: { entry, ...details } });
}
