import { createHash } from 'node:crypto';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';
import type { Extract } from 'tar-stream';
import {
  END_FRAMING_BYTES,
  ENTRY_FRAMING_BYTES,
  EntryChecker,
  FILES_PREFIX,
  isGzip,
  MANIFEST_ENTRY,
  resolveLimits,
  tooLarge,
  unreadable,
} from './archive-entries.ts';
import type { ArchiveLimits } from './archive-entries.ts';
import { assertEligible } from './eligibility.ts';
import { LockgateError } from './errors.ts';
import type { PackFile, PackManifest } from './manifest.ts';
import { verifyManifest } from './pack.ts';
import type { VerifiedPack, VerifyPackOptions } from './pack.ts';

/**
 * Verifies a pack file as it streams, the one check every reader of a pack file from
 * elsewhere runs (the server on push, `lockgate pack verify`, the agent before it installs).
 *
 * Invariants:
 * - Memory stays bounded whatever the file holds: the inflated archive is never held, only
 *   manifest.json (at most maxManifestBytes) and a few buffers of the stream.
 * - manifest.json is the first entry (as writePackArchive writes it). It is verified (schema,
 *   digest, signatures) and found eligible before any payload byte is inflated, and from then
 *   on the manifest bounds the rest: each listed entry has exactly its declared size (checked
 *   from the tar header, before its bytes are read), the inflated total cannot exceed what the
 *   manifest declares plus tar framing, and entries the manifest does not list may hold a few
 *   KiB in all before the file is refused.
 * - Files are hashed as they pass; a caller that writes them somewhere (onFile) sees bytes
 *   before their hash is known and must discard what it wrote when the promise rejects.
 */

export type PackArchiveSource = Uint8Array | AsyncIterable<Uint8Array>;

/**
 * The read size to stream a pack file from disk with (`createReadStream(path, { highWaterMark:
 * PACK_READ_BYTES })`): large reads keep verification near the disk's and the hash's speed.
 */
export const PACK_READ_BYTES = 1024 * 1024;

export interface VerifyPackArchiveOptions extends VerifyPackOptions {
  limits?: ArchiveLimits;
  /**
   * Called for each listed file as it streams, in archive order; the content is checked
   * against the manifest while it passes (bytes the callback leaves unread are read and
   * checked afterwards).
   */
  onFile?: (file: PackFile, content: AsyncIterable<Uint8Array>) => Promise<void>;
}

/** One entry of the archive as tar-stream yields it. */
type Entry = Extract extends AsyncIterable<infer T> ? T : never;

/** Entries the manifest does not list are read (so a missing listed file is reported first) up to these bounds. */
const UNLISTED_MAX_ENTRIES = 16;
const UNLISTED_MAX_BYTES = 64 * 1024;
/** How far decompression may run ahead of the reader of entries (stream buffers). */
const READ_AHEAD_BYTES = 1024 * 1024;
const BLOCK_BYTES = 512;
/** Inflated bytes per chunk: fewer, larger chunks through the tar parser and the hash. */
const GUNZIP_CHUNK_BYTES = 256 * 1024;

/**
 * Verifies a pack file, plain tar or gzip, streaming it; throws the first failure:
 *   layout: links, devices, unsafe or duplicate names (PACK_ARCHIVE_INVALID, details.entry);
 *     no manifest.json first (PACK_ARCHIVE_INVALID, details.entry = manifest.json)
 *   → manifest schema, digest, signatures as verifyManifest (PACK_MANIFEST_INVALID,
 *     PACK_DIGEST_MISMATCH, PACK_SIGNATURE_INVALID, PACK_SIGNER_UNTRUSTED)
 *   → eligibility of the manifest as assertEligible with no build record
 *     (PROVENANCE_INCOMPLETE, BUILD_GATE_FAILED)
 *   → the sizes it declares against the limits (PACK_ARCHIVE_TOO_LARGE)
 *   → each file as it arrives: a tar size other than the declared one, or bytes that hash
 *     otherwise (PACK_FILE_HASH_MISMATCH, details.path); more unlisted bytes than a small
 *     bound (PACK_FILE_UNLISTED); decompression beyond the declared sizes and framing
 *     (PACK_ARCHIVE_TOO_LARGE)
 *   → at the end a listed file never seen (PACK_FILE_MISSING), then an unlisted one
 *     (PACK_FILE_UNLISTED).
 * An error reading the source itself is thrown as it is.
 */
export async function verifyPackArchive(
  source: PackArchiveSource,
  options: VerifyPackArchiveOptions,
): Promise<VerifiedPack> {
  const bounds = resolveLimits(options.limits ?? {});
  const manifestLimit = Math.min(bounds.maxManifestBytes, bounds.maxEntryBytes);
  const meter: Meter = {
    inflated: 0,
    limit: ENTRY_FRAMING_BYTES + padded(manifestLimit) + READ_AHEAD_BYTES,
  };
  const extractor = extract();
  // The iterator listens for entries, so it must exist before the bytes go in.
  const entries = extractor[Symbol.asyncIterator]();
  const feeding = feed(source, extractor, meter);
  try {
    return await readArchive(entries, bounds, manifestLimit, meter, options);
  } catch (error) {
    throw error instanceof SourceError ? error.cause : error;
  } finally {
    extractor.destroy();
    await feeding;
  }
}

interface Meter {
  /** bytes of tar handed to the extractor so far */
  inflated: number;
  /** the most it may reach; raised once the manifest says what follows */
  limit: number;
}

/** An error of the caller's source, passed through the tar parser and thrown unchanged. */
class SourceError extends Error {
  constructor(cause: unknown) {
    super('The pack file could not be read.', { cause });
  }
}

async function readArchive(
  entries: AsyncIterator<Entry>,
  bounds: Required<ArchiveLimits>,
  manifestLimit: number,
  meter: Meter,
  options: VerifyPackArchiveOptions,
): Promise<VerifiedPack> {
  const checker = new EntryChecker(bounds);
  const first = await nextEntry(entries);
  const firstKind = first === null ? null : checker.check(first.header);
  if (first === null || firstKind?.kind !== 'manifest') {
    throw new LockgateError(
      'PACK_ARCHIVE_INVALID',
      first === null
        ? 'The pack file has no manifest.json.'
        : `The pack file must begin with manifest.json, not ${first.header.name}.`,
      { details: { entry: MANIFEST_ENTRY } },
    );
  }
  const manifestSize = first.header.size ?? 0;
  if (manifestSize > manifestLimit) {
    throw tooLarge(
      MANIFEST_ENTRY,
      `The entry ${MANIFEST_ENTRY} has ${manifestSize} bytes, over the limit of ${manifestLimit}.`,
      { size: manifestSize, limit: manifestLimit },
    );
  }
  const verified = verifyManifest(await readAll(first), options);
  const { manifest, digest } = verified;
  assertEligible({ manifest, build: null }, digest);
  const entryLimit = checkDeclared(manifest, manifestSize, bounds);
  meter.limit = meter.inflated + allowance(manifest, entryLimit);

  const listed = new Map(manifest.files.map((file) => [file.path, file]));
  const seen = new Set<string>();
  const unlisted: string[] = [];
  let unlistedBytes = 0;
  let count = 1;
  for (let entry = await nextEntry(entries); entry !== null; entry = await nextEntry(entries)) {
    const { name } = entry.header;
    const size = entry.header.size ?? 0;
    const kind = checker.check(entry.header);
    count += 1;
    if (count > entryLimit) {
      throw tooLarge(name, `The pack file has more entries than its manifest accounts for.`, {
        limit: entryLimit,
      });
    }
    if (kind.kind !== 'file') {
      // Directory entries carry no bytes; a second manifest.json is refused by the checker.
      await drain(entry);
      continue;
    }
    const file = listed.get(kind.path);
    if (file === undefined) {
      unlisted.push(kind.path);
      unlistedBytes += size;
      if (unlisted.length > UNLISTED_MAX_ENTRIES || unlistedBytes > UNLISTED_MAX_BYTES) {
        throw unlistedError(kind.path);
      }
      await drain(entry);
      continue;
    }
    if (size !== file.size) {
      throw mismatch(file, { size });
    }
    await passFile(entry, file, options.onFile);
    seen.add(file.path);
  }
  const missing = manifest.files.find((file) => !seen.has(file.path));
  if (missing !== undefined) {
    throw new LockgateError(
      'PACK_FILE_MISSING',
      `The pack lacks the listed file ${missing.path}.`,
      { details: { path: missing.path } },
    );
  }
  const [extra] = unlisted;
  if (extra !== undefined) throw unlistedError(extra);
  return verified;
}

/**
 * Checks what the manifest declares against the limits before any payload is read, and
 * returns the most entries the archive may hold: the manifest, its files, their directories
 * and a few unlisted entries.
 */
function checkDeclared(
  manifest: PackManifest,
  manifestSize: number,
  bounds: Required<ArchiveLimits>,
): number {
  let total = manifestSize;
  for (const file of manifest.files) {
    if (file.size > bounds.maxEntryBytes) {
      throw tooLarge(
        FILES_PREFIX + file.path,
        `The manifest declares ${file.path} with ${file.size} bytes, over the limit of ${bounds.maxEntryBytes}.`,
        { size: file.size, limit: bounds.maxEntryBytes },
      );
    }
    total += file.size;
  }
  if (total > bounds.maxTotalBytes) {
    throw tooLarge(
      MANIFEST_ENTRY,
      `The manifest declares ${total} bytes in all, over the limit of ${bounds.maxTotalBytes}.`,
      { size: total, limit: bounds.maxTotalBytes },
    );
  }
  const directories = new Set<string>();
  for (const file of manifest.files) {
    const segments = file.path.split('/');
    for (let n = 1; n < segments.length; n++) directories.add(segments.slice(0, n).join('/'));
  }
  const entries = 1 + manifest.files.length;
  if (entries > bounds.maxEntries) {
    throw tooLarge(
      MANIFEST_ENTRY,
      `The manifest lists ${manifest.files.length} files, more than the limit of ${bounds.maxEntries} entries allows.`,
      { limit: bounds.maxEntries },
    );
  }
  // `files/` itself and each directory above a listed file may have an entry of its own.
  return entries + 1 + directories.size + UNLISTED_MAX_ENTRIES;
}

/** Tar bytes the archive may still inflate to after the manifest: declared bytes plus framing. */
function allowance(manifest: PackManifest, entryLimit: number): number {
  const declared = manifest.files.reduce((sum, file) => sum + padded(file.size), 0);
  return (
    declared +
    padded(UNLISTED_MAX_BYTES) +
    entryLimit * ENTRY_FRAMING_BYTES +
    END_FRAMING_BYTES +
    READ_AHEAD_BYTES
  );
}

/** Hashes a listed file's bytes as they pass (through onFile when given) and compares. */
async function passFile(
  entry: Entry,
  file: PackFile,
  onFile: VerifyPackArchiveOptions['onFile'],
): Promise<void> {
  const hash = createHash('sha256');
  const iterator = entry[Symbol.asyncIterator]();
  let done = false;
  const read = async (): Promise<IteratorResult<Uint8Array>> => {
    if (done) return { done: true, value: undefined };
    let next: IteratorResult<Uint8Array>;
    try {
      next = (await iterator.next()) as IteratorResult<Uint8Array>;
    } catch (cause) {
      throw unreadableArchive(cause);
    }
    if (next.done === true) done = true;
    else hash.update(next.value);
    return next;
  };
  if (onFile !== undefined) {
    await onFile(file, { [Symbol.asyncIterator]: () => ({ next: read }) });
  }
  while (!done) await read();
  const sha256 = hash.digest('hex');
  if (sha256 !== file.sha256) throw mismatch(file, { size: file.size, sha256 });
}

async function readAll(entry: Entry): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  try {
    for await (const chunk of entry) chunks.push(chunk as Uint8Array);
  } catch (cause) {
    throw unreadableArchive(cause);
  }
  return Buffer.concat(chunks);
}

async function drain(entry: Entry): Promise<void> {
  try {
    for await (const _chunk of entry);
  } catch (cause) {
    throw unreadableArchive(cause);
  }
}

async function nextEntry(entries: AsyncIterator<Entry>): Promise<Entry | null> {
  try {
    const next = await entries.next();
    return next.done === true ? null : next.value;
  } catch (cause) {
    throw unreadableArchive(cause);
  }
}

/**
 * Inflates the source when it is gzip and writes the tar bytes into the extractor, with
 * backpressure, until the source ends, the meter's limit is passed or the extractor is
 * destroyed. Never rejects: a failure destroys the extractor with its error.
 */
async function feed(source: PackArchiveSource, extractor: Extract, meter: Meter): Promise<void> {
  try {
    const { head, chunks } = await peek(chunksOf(source));
    for await (const chunk of isGzip(head) ? gunzipped(chunks) : chunks) {
      if (isDestroyed(extractor)) return;
      meter.inflated += chunk.byteLength;
      if (meter.inflated > meter.limit) {
        throw new LockgateError(
          'PACK_ARCHIVE_TOO_LARGE',
          'The pack file decompresses to more than its manifest declares.',
          { details: { limit: meter.limit } },
        );
      }
      if (!extractor.write(chunk)) await drained(extractor);
    }
    if (!isDestroyed(extractor)) extractor.end(undefined);
  } catch (error) {
    extractor.destroy(
      error instanceof LockgateError || error instanceof SourceError
        ? error
        : unreadable(error, 'The pack file is not valid gzip.'),
    );
  }
}

/** The source's chunks; an error reading them becomes a SourceError. */
async function* chunksOf(source: PackArchiveSource): AsyncGenerator<Uint8Array> {
  if (source instanceof Uint8Array) {
    yield source;
    return;
  }
  try {
    yield* source;
  } catch (error) {
    throw new SourceError(error);
  }
}

/** The first bytes (enough to tell gzip from tar) and every chunk, those included. */
async function peek(
  chunks: AsyncGenerator<Uint8Array>,
): Promise<{ head: Uint8Array; chunks: AsyncIterable<Uint8Array> }> {
  const seen: Uint8Array[] = [];
  let length = 0;
  while (length < 2) {
    const next = await chunks.next();
    if (next.done === true) break;
    seen.push(next.value);
    length += next.value.byteLength;
  }
  async function* all(): AsyncGenerator<Uint8Array> {
    yield* seen;
    yield* chunks;
  }
  return { head: Buffer.concat(seen), chunks: all() };
}

/** The inflated chunks of a gzip stream, produced as they are read. */
function gunzipped(chunks: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES });
  // Errors reach the reader through the gunzip stream, which pipeline destroys with them.
  pipeline(Readable.from(chunks, { highWaterMark: 1 }), gunzip, () => undefined);
  return gunzip;
}

function drained(extractor: Extract): Promise<void> {
  return new Promise((resolve) => {
    if (isDestroyed(extractor)) {
      resolve();
      return;
    }
    const done = (): void => {
      extractor.off('drain', done);
      extractor.off('close', done);
      resolve();
    };
    extractor.on('drain', done);
    extractor.on('close', done);
  });
}

function isDestroyed(extractor: Extract): boolean {
  return extractor.destroying || extractor.destroyed;
}

function unreadableArchive(cause: unknown): Error {
  return cause instanceof SourceError
    ? cause
    : unreadable(cause, 'The pack file is not a readable tar archive.');
}

function mismatch(file: PackFile, actual: { size: number; sha256?: string }): LockgateError {
  return new LockgateError(
    'PACK_FILE_HASH_MISMATCH',
    `The file ${file.path} differs from the manifest.`,
    {
      details: {
        path: file.path,
        expected: { size: file.size, sha256: file.sha256 },
        actual,
      },
    },
  );
}

function unlistedError(path: string): LockgateError {
  return new LockgateError(
    'PACK_FILE_UNLISTED',
    `The pack holds ${path}, which the manifest does not list.`,
    { details: { path } },
  );
}

function padded(size: number): number {
  return Math.ceil(size / BLOCK_BYTES) * BLOCK_BYTES;
}
