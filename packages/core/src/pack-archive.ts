import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { extract, pack } from 'tar-stream';
import type { Pack } from 'tar-stream';
import {
  END_FRAMING_BYTES,
  ENTRY_FRAMING_BYTES,
  EntryChecker,
  FILES_PREFIX,
  isErrorCode,
  isGzip,
  MANIFEST_ENTRY,
  plain,
  resolveLimits,
  tooLarge,
  unreadable,
} from './archive-entries.ts';
import type { ArchiveLimits } from './archive-entries.ts';
import { canonicalBytes } from './canonical-json.ts';
import { LockgateError } from './errors.ts';
import { parseManifestJson, validateManifest } from './manifest.ts';
import type { PackManifest } from './manifest.ts';
import { verifyPackFiles } from './pack.ts';

export { DEFAULT_ARCHIVE_LIMITS } from './archive-entries.ts';
export type { ArchiveLimits } from './archive-entries.ts';

export interface PackArchiveContents {
  /** manifest.json parsed as JSON, not yet validated */
  manifest: unknown;
  /** raw manifest.json bytes */
  manifestBytes: Uint8Array;
  /** payload files keyed by their manifest path (the archive name minus the `files/` prefix) */
  files: Map<string, Uint8Array>;
}

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
 * Everything it returns is held in memory, up to the limits: for a pack file from elsewhere
 * use verifyPackArchive, which streams it.
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
  const checker = new EntryChecker(bounds);
  const files = new Map<string, Uint8Array>();
  let manifestBytes: Uint8Array | undefined;
  let total = 0;
  try {
    for (let next = await entries.next(); next.done !== true; next = await entries.next()) {
      const entry = next.value;
      const { name, size } = entry.header;
      const kind = checker.check(entry.header);
      if (kind.kind === 'directory') {
        entry.resume();
        continue;
      }
      const limit = kind.kind === 'manifest' ? kind.limit : bounds.maxEntryBytes;
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
      if (kind.kind === 'manifest') manifestBytes = data;
      else files.set(kind.path, data);
    }
  } catch (cause) {
    extractor.destroy();
    throw unreadable(cause, 'The pack file is not a readable tar archive.');
  }
  if (manifestBytes === undefined) {
    throw new LockgateError('PACK_ARCHIVE_INVALID', 'The pack file has no manifest.json.', {
      details: { entry: MANIFEST_ENTRY },
    });
  }
  return { manifestBytes, files };
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
