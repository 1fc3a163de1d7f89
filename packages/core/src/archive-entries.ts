import type { Header } from 'tar-stream';
import { LockgateError } from './errors.ts';
import { MAX_PATH_BYTES, unsafePathReason } from './manifest.ts';

/**
 * What both pack file readers share: the limits, the layout (`manifest.json` and
 * `files/<path>`) and the check of one tar entry's header. Internal to core: the public
 * names are re-exported by pack-archive.ts.
 *
 * Invariants: an accepted entry is a regular file named `manifest.json` or `files/<path>`
 * with a normalized path, or a directory entry `files/` or under it; every name is seen once.
 */

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

export const DEFAULT_ARCHIVE_LIMITS: Readonly<Required<ArchiveLimits>> = Object.freeze({
  maxTotalBytes: 1024 ** 3,
  maxEntryBytes: 512 * 1024 ** 2,
  maxEntries: 10_000,
  maxManifestBytes: 4 * 1024 ** 2,
});

export const MANIFEST_ENTRY = 'manifest.json';
const FILES_DIRECTORY = 'files';
export const FILES_PREFIX = `${FILES_DIRECTORY}/`;
// Tar framing around the entries' bytes, used to bound decompression: per entry a header
// block, padding to 512 bytes and, for a long or non-ASCII name, a pax header block plus its
// records (the name is at most MAX_PATH_BYTES); after the entries the end blocks, which tar
// tools pad to a 10 KiB record.
export const ENTRY_FRAMING_BYTES = 4 * 512 + MAX_PATH_BYTES + 1024;
export const END_FRAMING_BYTES = 20 * 1024;

/** What a checked entry is. */
export type EntryKind =
  { kind: 'directory' } | { kind: 'manifest'; limit: number } | { kind: 'file'; path: string };

/**
 * Checks entries one by one as they come: the count against maxEntries
 * (PACK_ARCHIVE_TOO_LARGE), duplicates, types and names (PACK_ARCHIVE_INVALID, details.entry).
 */
export class EntryChecker {
  readonly #bounds: Required<ArchiveLimits>;
  readonly #names = new Set<string>();
  #count = 0;

  constructor(bounds: Required<ArchiveLimits>) {
    this.#bounds = bounds;
  }

  check(header: Header): EntryKind {
    const { name } = header;
    // tar-stream reports an unknown type flag as null.
    const type = header.type as Header['type'] | null;
    this.#count += 1;
    if (this.#count > this.#bounds.maxEntries) {
      throw tooLarge(name, `The pack file has more than ${this.#bounds.maxEntries} entries.`, {
        limit: this.#bounds.maxEntries,
      });
    }
    const key = type === 'directory' && name.endsWith('/') ? name.slice(0, -1) : name;
    if (this.#names.has(key)) throw invalid(name, `The pack file holds ${name} twice.`);
    this.#names.add(key);
    if (type === 'directory') {
      if (key !== FILES_DIRECTORY && payloadPath(key) === null) {
        throw invalid(name, `The directory entry ${name} is outside files/ or not normalized.`);
      }
      return { kind: 'directory' };
    }
    if (type !== 'file') {
      throw invalid(name, `The entry ${name} is a ${type ?? 'special entry'}, not a regular file.`);
    }
    if (name === MANIFEST_ENTRY) {
      return {
        kind: 'manifest',
        limit: Math.min(this.#bounds.maxManifestBytes, this.#bounds.maxEntryBytes),
      };
    }
    const path = payloadPath(name);
    if (path === null) {
      throw invalid(
        name,
        `The entry ${name} is not manifest.json or a normalized name under files/.`,
      );
    }
    return { kind: 'file', path };
  }
}

/** The manifest path of a `files/<path>` entry name, or null when the name is not one. */
function payloadPath(name: string): string | null {
  if (!name.startsWith(FILES_PREFIX)) return null;
  const path = name.slice(FILES_PREFIX.length);
  return unsafePathReason(path) === null ? path : null;
}

/** The limits with defaults filled in; BAD_REQUEST for a bound that is not an integer >= 0. */
export function resolveLimits(limits: ArchiveLimits): Required<ArchiveLimits> {
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

export function isGzip(bytes: Uint8Array): boolean {
  return bytes[0] === 0x1f && bytes[1] === 0x8b;
}

export function isErrorCode(value: unknown, code: string): boolean {
  return value instanceof Error && (value as { code?: unknown }).code === code;
}

/** A plain Uint8Array view (no copy) of a Buffer, so callers compare and serialize bytes alike. */
export function plain(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function invalid(entry: string, message: string): LockgateError {
  return new LockgateError('PACK_ARCHIVE_INVALID', message, { details: { entry } });
}

export function tooLarge(
  entry: string,
  message: string,
  details: Record<string, unknown>,
): LockgateError {
  return new LockgateError('PACK_ARCHIVE_TOO_LARGE', message, { details: { entry, ...details } });
}

/** PACK_ARCHIVE_INVALID for an error a tar or gzip parser threw, keeping LockgateErrors. */
export function unreadable(cause: unknown, message: string): LockgateError {
  if (cause instanceof LockgateError) return cause;
  return new LockgateError('PACK_ARCHIVE_INVALID', message, {
    cause,
    details: { reason: cause instanceof Error ? cause.message : String(cause) },
  });
}
