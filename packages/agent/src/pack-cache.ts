import { mkdir, open, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from '@lockgate/core';
import { AgentError } from './agent-codes.ts';
import { errnoOf, fsyncDirectory } from './atomic-fs.ts';
import { hexOf } from './pack-install.ts';
import type { ServerClient } from './server-client.ts';

const PACK_SUFFIX = '.pack';
const PARTIAL_SUFFIX = '.pack.partial';

/**
 * The content-addressed download cache: `DIR/cache/<hex>.pack`, where hex is the pack digest
 * the channel index names (verification checks the file really has it). A download goes to
 * `<hex>.pack.partial`, resumes from its length with `Range`, and is renamed into place when
 * complete. The cache holds at most `maxBytes`; the least recently used packs that are neither
 * protected (active, lkg) nor wanted now are evicted to make room.
 */
export class PackCache {
  readonly dir: string;
  readonly maxBytes: number;
  readonly #onReceived: (bytes: number) => void;

  /** `onReceived` hears of every chunk of pack bytes written from a download (for metrics). */
  constructor(dir: string, maxBytes: number, onReceived: (bytes: number) => void = () => {}) {
    this.dir = dir;
    this.maxBytes = maxBytes;
    this.#onReceived = onReceived;
  }

  pathOf(digest: Digest): string {
    return join(this.dir, `${hexOf(digest)}${PACK_SUFFIX}`);
  }

  partialPathOf(digest: Digest): string {
    return join(this.dir, `${hexOf(digest)}${PARTIAL_SUFFIX}`);
  }

  /** The cached file for the digest when complete (its use time refreshed), else null. */
  async lookup(digest: Digest): Promise<string | null> {
    const path = this.pathOf(digest);
    try {
      const now = new Date();
      await utimes(path, now, now);
      return path;
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return null;
      throw error;
    }
  }

  /** Removes a cached pack (and its partial download). */
  async remove(digest: Digest): Promise<void> {
    await rm(this.pathOf(digest), { force: true });
    await rm(this.partialPathOf(digest), { force: true });
  }

  /**
   * The cached file for the digest, downloading (or resuming) it first when needed.
   * `protect` names packs eviction must keep. Throws AgentError SERVER_UNREACHABLE when the
   * download fails (the partial file stays for the next try) and CACHE_FULL when the pack
   * cannot fit.
   */
  async fetch(
    digest: Digest,
    client: ServerClient,
    protect: ReadonlySet<Digest>,
    signal?: AbortSignal,
  ): Promise<string> {
    const cached = await this.lookup(digest);
    if (cached !== null) return cached;
    await mkdir(this.dir, { recursive: true });
    const partial = this.partialPathOf(digest);
    let offset = await sizeOf(partial);
    let response = await client.downloadPack(digest, offset, signal);
    if (response.status === 416) {
      await response.body?.cancel();
      const total = totalOfRange(response.headers.get('content-range'));
      if (total !== null && total === offset && offset > 0) {
        return this.#complete(digest, partial);
      }
      // The partial file does not fit the pack on the server: start again.
      await rm(partial, { force: true });
      offset = 0;
      response = await client.downloadPack(digest, 0, signal);
    }
    let total: number | null;
    if (response.status === 206) {
      const range = parseContentRange(response.headers.get('content-range'));
      if (range === null || range.start !== offset) {
        await response.body?.cancel();
        await rm(partial, { force: true });
        throw new AgentError(
          'SERVER_UNREACHABLE',
          'The server answered a range that does not continue the partial download.',
          { details: { digest, offset, contentRange: response.headers.get('content-range') } },
        );
      }
      total = range.total;
    } else {
      offset = 0;
      const length = response.headers.get('content-length');
      total = length === null || !/^\d+$/.test(length) ? null : Number(length);
    }
    const incoming = total === null ? 0 : total - offset;
    if (total !== null && total > this.maxBytes) {
      await response.body?.cancel();
      throw new AgentError(
        'CACHE_FULL',
        `The pack file has ${total} bytes, over the cache bound of ${this.maxBytes}.`,
        { details: { digest, size: total, maxBytes: this.maxBytes } },
      );
    }
    await this.evict(incoming, new Set([...protect, digest]));
    await this.#receive(response, partial, offset, total, digest);
    return this.#complete(digest, partial);
  }

  /**
   * Evicts least recently used packs (and stale partial downloads) not in `keep` until the
   * cache plus `incoming` bytes fits the bound, or nothing more may go.
   */
  async evict(incoming: number, keep: ReadonlySet<Digest>): Promise<void> {
    const entries = await this.#entries();
    let used = entries.reduce((sum, e) => sum + e.size, 0);
    const candidates = entries
      .filter((e) => !keep.has(e.digest))
      .sort((a, b) => (a.partial === b.partial ? a.mtimeMs - b.mtimeMs : a.partial ? -1 : 1));
    for (const entry of candidates) {
      if (used + incoming <= this.maxBytes) break;
      await rm(entry.path, { force: true });
      used -= entry.size;
    }
  }

  async #receive(
    response: Response,
    partial: string,
    offset: number,
    total: number | null,
    digest: Digest,
  ): Promise<void> {
    const handle = await open(partial, offset > 0 ? 'a' : 'w');
    let written = offset;
    try {
      if (response.body !== null) {
        const body: AsyncIterable<Uint8Array> = response.body;
        for await (const chunk of body) {
          written += chunk.byteLength;
          if (written > this.maxBytes || (total !== null && written > total)) {
            await response.body.cancel().catch(() => undefined);
            throw new AgentError(
              'CACHE_FULL',
              `The pack download exceeds ${total ?? this.maxBytes} bytes.`,
              { details: { digest, written, maxBytes: this.maxBytes } },
            );
          }
          await handle.write(chunk);
          this.#onReceived(chunk.byteLength);
        }
      }
    } catch (error) {
      if (error instanceof AgentError) throw error;
      // The bytes received so far stay in the partial file for the next try.
      throw new AgentError(
        'SERVER_UNREACHABLE',
        `The pack download broke off after ${written} bytes.`,
        { cause: error, details: { digest, written } },
      );
    } finally {
      await handle.sync().catch(() => undefined);
      await handle.close();
    }
    if (total !== null && written !== total) {
      throw new AgentError(
        'SERVER_UNREACHABLE',
        `The pack download ended after ${written} of ${total} bytes.`,
        { details: { digest, written, total } },
      );
    }
  }

  async #complete(digest: Digest, partial: string): Promise<string> {
    const path = this.pathOf(digest);
    await rename(partial, path);
    await fsyncDirectory(this.dir);
    return path;
  }

  async #entries(): Promise<
    { path: string; digest: Digest; size: number; mtimeMs: number; partial: boolean }[]
  > {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const entries: {
      path: string;
      digest: Digest;
      size: number;
      mtimeMs: number;
      partial: boolean;
    }[] = [];
    for (const name of names) {
      const partial = name.endsWith(PARTIAL_SUFFIX);
      const hex = partial
        ? name.slice(0, -PARTIAL_SUFFIX.length)
        : name.endsWith(PACK_SUFFIX)
          ? name.slice(0, -PACK_SUFFIX.length)
          : null;
      if (hex === null || !/^[0-9a-f]{64}$/.test(hex)) continue;
      const path = join(this.dir, name);
      const info = await stat(path).catch(() => null);
      if (info === null) continue;
      entries.push({
        path,
        digest: `sha256:${hex}`,
        size: info.size,
        mtimeMs: info.mtimeMs,
        partial,
      });
    }
    return entries;
  }
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return 0;
    throw error;
  }
}

function parseContentRange(
  header: string | null,
): { start: number; end: number; total: number } | null {
  const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header?.trim() ?? '');
  if (match === null) return null;
  return { start: Number(match[1]), end: Number(match[2]), total: Number(match[3]) };
}

function totalOfRange(header: string | null): number | null {
  const match = /^bytes \*\/(\d+)$/.exec(header?.trim() ?? '');
  return match === null ? null : Number(match[1]);
}
