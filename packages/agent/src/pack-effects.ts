/**
 * The machine's effects on packs, run against the agent directory and the cache: fetch,
 * verify, discard, install, flip, uninstall, prune, repair. Each answers with the observation
 * the machine expects (see agent-machine.ts) and decides nothing itself. Between a fetch and
 * the install it keeps the fetched file and its verified payload (one attempt at a time).
 */
import { isLockgateError, LockgateError } from '@lockgate/core';
import type { Digest, PackManifest, PublicKeyInfo } from '@lockgate/core';
import { AgentError } from './agent-codes.ts';
import type { Effect, Observation, PackSource } from './agent-machine.ts';
import type { AgentPaths } from './agent-state.ts';
import { messageOf } from './index-fetch.ts';
import type { PackCache } from './pack-cache.ts';
import {
  flipCurrent,
  installPack,
  isInstalled,
  listInstalled,
  readCurrent,
  uninstallPack,
} from './pack-install.ts';
import { checkInstalled, repairFromCache } from './pack-repair.ts';
import { verifyPackFile } from './pack-verification.ts';
import type { PackPayload } from './pack-verification.ts';
import type { PackSeals } from './pack-seal.ts';
import type { ServerClient } from './server-client.ts';

export type PackEffect = Extract<
  Effect,
  {
    type:
      'fetch-pack' | 'verify' | 'discard' | 'install' | 'flip' | 'uninstall' | 'prune' | 'repair';
  }
>;

type Installed = Extract<Observation, { type: 'installed' }>;

export class PackEffects {
  readonly #paths: AgentPaths;
  readonly #cache: PackCache;
  readonly #client: ServerClient;
  readonly #keys: readonly PublicKeyInfo[];
  /** installed packs this process wrote or hashed, checked by stat until they change */
  readonly #seals: PackSeals = new Map();
  /** the pack file fetched for the attempt under way, and its verified payload */
  #pending: {
    pack: Digest;
    file: string;
    verified: { manifest: PackManifest; files: PackPayload } | null;
  } | null = null;

  constructor(
    paths: AgentPaths,
    cache: PackCache,
    client: ServerClient,
    keys: readonly PublicKeyInfo[],
  ) {
    this.#paths = paths;
    this.#cache = cache;
    this.#client = client;
    this.#keys = keys;
  }

  /** Runs one of the machine's pack effects; `onFailure` hears of a repair that failed. */
  run(
    effect: PackEffect,
    signal: AbortSignal | undefined,
    onFailure: (message: string) => void,
  ): Promise<Observation | undefined | void> {
    switch (effect.type) {
      case 'fetch-pack':
        return this.fetch(effect.pack, effect.protect, signal);
      case 'verify':
        return this.verify(effect.pack, effect.source);
      case 'discard':
        return this.discard(effect.pack, effect.source);
      case 'install':
        return this.install(effect.pack);
      case 'flip':
        return this.flip(effect.to, effect.checked);
      case 'uninstall':
        return this.uninstall(effect.pack);
      case 'prune':
        return this.prune(effect.keep);
      case 'repair':
        return this.repair(effect.pack, onFailure);
    }
  }

  /** Forgets the attempt under way (after an unexpected failure). */
  reset(): void {
    this.#pending = null;
  }

  /** An installed pack is not downloaded: it is verified in place. */
  async fetch(
    pack: Digest,
    protect: Digest[],
    signal: AbortSignal | undefined,
  ): Promise<Observation> {
    if (await isInstalled(this.#paths, pack)) {
      return { type: 'download-done', pack, source: 'installed' };
    }
    try {
      const file = await this.#cache.fetch(pack, this.#client, new Set(protect), signal);
      this.#pending = { pack, file, verified: null };
      return { type: 'download-done', pack, source: 'cache' };
    } catch (error) {
      if (!(isLockgateError(error) || error instanceof AgentError)) throw error;
      return { type: 'download-failed', pack, code: error.code, message: error.message };
    }
  }

  async verify(pack: Digest, source: PackSource): Promise<Observation> {
    const file = this.#pending?.pack === pack ? this.#pending.file : null;
    if (source === 'installed' || file === null) {
      const check = await checkInstalled(this.#paths, pack, this.#keys, this.#seals);
      if (check instanceof LockgateError) {
        return { type: 'verify-failed', pack, code: check.code, message: check.message };
      }
      return { type: 'verify-ok', pack, manifest: check.manifest };
    }
    try {
      const contents = await verifyPackFile(file, {
        expectedDigest: pack,
        trustedKeys: this.#keys,
      });
      this.#pending = { pack, file, verified: contents };
      return { type: 'verify-ok', pack, manifest: contents.manifest };
    } catch (error) {
      if (isLockgateError(error)) {
        return { type: 'verify-failed', pack, code: error.code, message: error.message };
      }
      await this.#cache.remove(pack);
      throw error;
    }
  }

  async discard(pack: Digest, source: PackSource): Promise<void> {
    this.#seals.delete(pack);
    if (source === 'cache') await this.#cache.remove(pack);
    else await uninstallPack(this.#paths, pack);
  }

  /** Extracts the verified pack file; a pack verified in place is installed already. */
  async install(pack: Digest): Promise<Observation> {
    const pending = this.#pending?.pack === pack ? this.#pending : null;
    this.#pending = null;
    try {
      const verified = pending?.verified ?? null;
      if (verified !== null) {
        const stamps = await installPack(this.#paths, pack, verified.manifest, verified.files);
        if (stamps !== null) this.#seals.set(pack, stamps);
      }
      return { type: 'install-done', pack };
    } catch (error) {
      return { type: 'install-failed', pack, message: messageOf(error) };
    }
  }

  /** `checked`: a failure is answered (after finding out whether the rename happened), else thrown. */
  async flip(to: Digest | null, checked: boolean): Promise<Observation | undefined> {
    try {
      await flipCurrent(this.#paths, to);
    } catch (error) {
      if (!checked) throw error;
      // The rename is atomic: find out whether it happened.
      if ((await readCurrent(this.#paths).catch(() => null)) !== to) {
        return { type: 'flip-failed', message: messageOf(error) };
      }
    }
    if (!checked) return undefined;
    return { type: 'flip-done', to, installed: await listInstalled(this.#paths) };
  }

  async uninstall(pack: Digest): Promise<Installed> {
    this.#seals.delete(pack);
    await uninstallPack(this.#paths, pack);
    return { type: 'installed', packs: await listInstalled(this.#paths) };
  }

  /** Removes installed packs that are not kept. */
  async prune(keep: Digest[]): Promise<Installed> {
    for (const digest of await listInstalled(this.#paths)) {
      if (keep.includes(digest)) continue;
      this.#seals.delete(digest);
      await uninstallPack(this.#paths, digest);
    }
    return { type: 'installed', packs: await listInstalled(this.#paths) };
  }

  async repair(pack: Digest, onFailure: (message: string) => void): Promise<Observation> {
    const ok = await repairFromCache(
      this.#paths,
      this.#cache,
      pack,
      this.#keys,
      this.#seals,
      onFailure,
    );
    return { type: ok ? 'repair-done' : 'repair-failed', pack };
  }
}
