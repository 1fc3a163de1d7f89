import type { PackManifest } from './manifest.ts';

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

/**
 * Writes a pack file: POSIX (ustar/pax) tar, `manifest.json` first, then each payload file
 * under `files/<path>` in manifest order; deterministic (mtime 0, mode 0644, uid/gid 0);
 * gzip-compressed when gzip is true (the default).
 */
export async function writePackArchive(
  _manifest: PackManifest,
  _files: ReadonlyMap<string, Uint8Array>,
  _options?: { gzip?: boolean },
): Promise<Uint8Array> {
  throw new Error('TODO(core)');
}

/**
 * Reads a pack file, plain or gzip (detected by magic bytes). Accepts only regular files
 * (and directory entries, ignored); refuses links and devices, absolute or `..` or
 * non-normalized names, duplicates, entries outside `manifest.json` and `files/`
 * (PACK_ARCHIVE_INVALID, details.entry) and bounds sizes (PACK_ARCHIVE_TOO_LARGE).
 * A missing manifest.json is PACK_ARCHIVE_INVALID; manifest.json that is not JSON is
 * PACK_MANIFEST_INVALID.
 */
export async function readPackArchive(
  _bytes: Uint8Array,
  _limits?: ArchiveLimits,
): Promise<PackArchiveContents> {
  throw new Error('TODO(core)');
}
