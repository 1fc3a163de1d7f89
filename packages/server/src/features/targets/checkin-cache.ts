import type { ChannelIndexPayload, DsseEnvelope } from '@lockgate/core';
import { CHANGE_FEED_SAFETY_POLL_MS } from '../../change-feed.ts';
import type { ChangeFeed } from '../../change-feed.ts';
import { CHANGE_POLL_SKEW_MS, createChangePoll } from '../../change-poll.ts';
import { indexPayloadOf } from '../channels/public.ts';
import { channelKeyOf } from '../channels/public.ts';
import type { ChannelKey } from '../channels/public.ts';
import type { StoredTarget } from './target-store.ts';

/**
 * What a check-in or a report reads, held in memory so that when nothing changed they read no
 * database: each channel's signed index (envelope and decoded payload) and each target's row.
 *
 * Invariants:
 * - A change committed in this process is seen by the next read: `indexChanged` (told for every
 *   published index version, also those the SSE hub's poll finds) and `targetChanged` drop the
 *   entry, `targetStored` (told by register with the row it committed) replaces it, and a load
 *   that was in flight when the change came is not kept.
 * - A change committed by another process (a replica on the same database) is seen when it
 *   commits while the `feed` (PostgreSQL LISTEN/NOTIFY) listens: an index loaded during the
 *   feed's current session is kept until the feed tells a newer version; target rows are kept
 *   until the feed (or the safety-net change poll) names them.
 * - Without a listening feed (SQLite, or the listener disconnected) another process's change is
 *   seen within about `maxAgeMs`: an index is not served older than that; target rows are kept
 *   until a change poll (`change-poll.ts`, every `maxAgeMs`) names them, and are not served from
 *   memory while that poll is failing or has not caught up since the feed reconnected.
 * - Memory is bounded: at most `maxTargets` target rows (oldest dropped first); channels are few.
 * - Only found rows are kept: an unknown id or channel is looked up each time.
 * - A cached row is what register last stored: its where and labels; what reports change
 *   (active pack, last report) is not for readers of this cache.
 */
export interface CheckinCache {
  /** The channel's index, from memory when fresh, else from `loadIndex`. */
  index(env: string, name: string): Promise<CachedIndex>;
  /** The target row, from memory when known and unchanged, else from `loadTarget`. */
  target(id: string): Promise<StoredTarget | null>;
  /** A channel's index has a new version (committed). */
  indexChanged(key: ChannelKey, version: number): void;
  /** A target's row changed (committed). */
  targetChanged(id: string): void;
  /**
   * A target's row as this process just committed it (register): kept as the cached row, so the
   * reports and check-ins that follow a registration read no database.
   */
  targetStored(target: StoredTarget): void;
  /** Stops the change poll and stops listening to the feed. */
  close(): void;
}

export interface CachedIndex {
  version: number;
  envelope: DsseEnvelope;
  payload: ChannelIndexPayload;
}

export interface CheckinCacheOptions {
  loadIndex(env: string, name: string): Promise<{ version: number; envelope: DsseEnvelope }>;
  loadTarget(id: string): Promise<StoredTarget | null>;
  /** Targets registered or updated since a time (also by another replica). */
  targetsUpdatedSince(since: string): Promise<readonly { id: string; updatedAt: string }[]>;
  /** How long before another replica's change is seen without a listening feed (default 1000 ms). */
  maxAgeMs?: number;
  /** Other replicas' changes as they commit (PostgreSQL); none for SQLite. */
  feed?: ChangeFeed;
  maxTargets?: number;
  /** Monotonic milliseconds (default performance.now). */
  now?: () => number;
}

export const DEFAULT_CHECKIN_CACHE_MAX_AGE_MS = 1000;
export const DEFAULT_CHECKIN_CACHE_MAX_TARGETS = 200_000;

export function createCheckinCache(options: CheckinCacheOptions): CheckinCache {
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_CHECKIN_CACHE_MAX_AGE_MS;
  const maxTargets = options.maxTargets ?? DEFAULT_CHECKIN_CACHE_MAX_TARGETS;
  const now = options.now ?? (() => performance.now());
  const feed = options.feed;
  // `session`: the feed session the entry was loaded in (null: loaded while not listening).
  const indexes = new Map<string, { value: CachedIndex; at: number; session: number | null }>();
  const targets = new Map<string, StoredTarget>();
  // Bumped on every change told; a load that saw another generation is served, not kept.
  let indexGeneration = 0;
  let targetGeneration = 0;
  // The newest version told per channel: an older one loaded late is never kept.
  const toldVersions = new Map<string, number>();

  const dropTarget = (id: string): void => {
    targetGeneration += 1;
    targets.delete(id);
  };
  // Drops what changed after it was loaded; a row loaded since the change is kept.
  const poll = createChangePoll({
    intervalMs: maxAgeMs,
    skewMs: CHANGE_POLL_SKEW_MS,
    changedSince: (since) => options.targetsUpdatedSince(since),
    onChanged: (changes) => {
      for (const { id, updatedAt } of changes) {
        const cached = targets.get(id);
        if (cached !== undefined && cached.updatedAt !== updatedAt) dropTarget(id);
      }
    },
    ...(feed === undefined
      ? {}
      : {
          feed: {
            source: feed,
            pick: (change) =>
              change.kind === 'target'
                ? { id: change.id, updatedAt: change.updatedAt ?? '' }
                : null,
            safetyIntervalMs: CHANGE_FEED_SAFETY_POLL_MS,
          },
        }),
    now,
  });
  const indexChanged = (key: ChannelKey, version: number): void => {
    const id = channelKeyOf(key.env, key.name);
    indexGeneration += 1;
    toldVersions.set(id, Math.max(version, toldVersions.get(id) ?? 0));
    const cached = indexes.get(id);
    if (cached !== undefined && cached.value.version < version) indexes.delete(id);
  };
  const unsubscribe = feed?.subscribe({
    change(change) {
      if (change.kind === 'index') {
        indexChanged({ env: change.env, name: change.channel }, change.version);
      }
    },
  });
  const indexFresh = (entry: { at: number; session: number | null }): boolean =>
    now() - entry.at <= maxAgeMs || (entry.session !== null && entry.session === feed?.session());

  const keep = (target: StoredTarget): void => {
    targets.set(target.id, target);
    if (targets.size > maxTargets) {
      const oldest = targets.keys().next();
      if (oldest.done !== true) targets.delete(oldest.value);
    }
  };

  return {
    async index(env, name) {
      const key = channelKeyOf(env, name);
      const cached = indexes.get(key);
      if (cached !== undefined && indexFresh(cached)) return cached.value;
      const generation = indexGeneration;
      const at = now();
      const session = feed?.session() ?? null;
      const loaded = await options.loadIndex(env, name);
      const value: CachedIndex =
        cached !== undefined && cached.value.version === loaded.version
          ? cached.value
          : { ...loaded, payload: indexPayloadOf(loaded.envelope) };
      if (generation === indexGeneration && value.version >= (toldVersions.get(key) ?? 0)) {
        indexes.set(key, { value, at, session });
      }
      return value;
    },

    async target(id) {
      poll.start();
      const fresh = poll.fresh();
      const cached = targets.get(id);
      if (cached !== undefined && fresh) return cached;
      const generation = targetGeneration;
      const loaded = await options.loadTarget(id);
      // A change told meanwhile left the cache as it should be (dropped, or the stored row).
      if (generation === targetGeneration) {
        targets.delete(id);
        if (loaded !== null && fresh) keep(loaded);
      }
      return loaded;
    },

    indexChanged,

    targetChanged(id) {
      dropTarget(id);
    },

    targetStored(target) {
      dropTarget(target.id);
      poll.start();
      if (poll.fresh()) keep(target);
    },

    close() {
      poll.stop();
      unsubscribe?.();
      targets.clear();
      indexes.clear();
    },
  };
}
