import { CHANGE_FEED_SAFETY_POLL_MS } from '../../change-feed.ts';
import type { ChangeFeed } from '../../change-feed.ts';
import type { StoresOf } from '../../stores.ts';
import { channelKeyOf } from './channel-store.ts';
import type { ChannelKey } from './channel-store.ts';

/** The stores this module uses, and no others. */
type UsedStores = StoresOf<'channels' | 'tokens'>;

export type IndexListener = (version: number) => void;

/** The token a stream was opened with, and how to end that stream. */
export interface StreamHolder {
  tokenId: string;
  end: () => void;
}

/**
 * Tells subscribers (SSE streams) when a channel's index version goes up. Changes made in this
 * process are published right after their commit. Another replica's change is published when
 * the `feed` (PostgreSQL LISTEN/NOTIFY) tells it, as it commits; the hub also polls the stored
 * versions of the subscribed channels (every pollIntervalMs while the feed does not listen, every
 * CHANGE_FEED_SAFETY_POLL_MS while it does, and at once when a feed session begins, to catch up
 * on what it missed) and publishes what went up. Each subscriber sees each version at most once,
 * in increasing order.
 *
 * A stream lives no longer than its token: a revocation in this process ends the streams opened
 * with the revoked tokens at once (endStreamsOf); one by another replica ends them when the feed
 * tells it, or at the next poll.
 */
export interface ChannelEvents {
  /**
   * Subscribes; `since` is the version the subscriber already knows, `holder` the token the
   * stream was opened with. Returns unsubscribe.
   */
  subscribe(
    key: ChannelKey,
    since: number,
    listener: IndexListener,
    holder: StreamHolder,
  ): () => void;
  publish(key: ChannelKey, version: number): void;
  /** Ends every stream opened with one of these tokens; returns how many it ended. */
  endStreamsOf(tokenIds: readonly string[]): number;
  /** Subscriber count (for tests and metrics). */
  size(): number;
  /** Stops polling and listening, and drops every subscriber. */
  close(): void;
}

interface Subscriber {
  last: number;
  listener: IndexListener;
  holder: StreamHolder;
}

export const DEFAULT_EVENTS_POLL_MS = 1000;

export function createChannelEvents(deps: {
  stores: UsedStores;
  pollIntervalMs?: number;
  /** Other replicas' changes as they commit (PostgreSQL); none for SQLite. */
  feed?: ChangeFeed;
  /**
   * Told every version published, those of this process and those the poll finds, whether or
   * not a stream listens (the check-in cache drops what is older).
   */
  onPublish?: (key: ChannelKey, version: number) => void;
}): ChannelEvents {
  const { stores } = deps;
  const pollIntervalMs = deps.pollIntervalMs ?? DEFAULT_EVENTS_POLL_MS;
  const channels = new Map<string, { key: ChannelKey; subscribers: Set<Subscriber> }>();
  let timer: NodeJS.Timeout | null = null;
  let polling = false;
  let again = false;
  // Monotonic time of the last poll that succeeded, and the feed session it began in.
  let lastPolled = 0;
  let caughtUp: number | null = null;
  const feed = deps.feed;

  // The newest version published per channel: a stream that subscribes with an older one (it
  // read the index just before a change was published) is told at once.
  const latest = new Map<string, number>();

  const publish = (key: ChannelKey, version: number): void => {
    deps.onPublish?.(key, version);
    const id = channelKeyOf(key.env, key.name);
    if (version > (latest.get(id) ?? 0)) latest.set(id, version);
    const entry = channels.get(id);
    if (entry === undefined) return;
    for (const subscriber of [...entry.subscribers]) {
      if (version <= subscriber.last) continue;
      subscriber.last = version;
      try {
        subscriber.listener(version);
      } catch {
        // A failing subscriber must not stop the others.
      }
    }
  };

  const subscribers = (): Subscriber[] =>
    [...channels.values()].flatMap((entry) => [...entry.subscribers]);

  const endStreamsOf = (tokenIds: readonly string[]): number => {
    const ids = new Set(tokenIds);
    let ended = 0;
    for (const subscriber of subscribers()) {
      if (!ids.has(subscriber.holder.tokenId)) continue;
      ended += 1;
      try {
        subscriber.holder.end();
      } catch {
        // Ending one stream must not keep the others open.
      }
    }
    return ended;
  };

  const poll = async (force: boolean): Promise<void> => {
    if (polling) {
      again ||= force;
      return;
    }
    if (channels.size === 0) return;
    const session = feed?.session() ?? null;
    const listening = session !== null && session === caughtUp;
    if (!force && listening && performance.now() - lastPolled < CHANGE_FEED_SAFETY_POLL_MS) return;
    polling = true;
    const started = performance.now();
    try {
      const keys = [...channels.values()].map((entry) => entry.key);
      const versions = await stores.channels.indexVersions(keys);
      for (const key of keys) {
        const version = versions.get(channelKeyOf(key.env, key.name));
        if (version !== undefined) publish(key, version);
      }
      const tokenIds = [...new Set(subscribers().map((s) => s.holder.tokenId))];
      const active = await stores.tokens.activeIds(tokenIds);
      endStreamsOf(tokenIds.filter((id) => !active.has(id)));
      lastPolled = started;
      caughtUp = session;
    } catch {
      // The database may be briefly unavailable; the next poll tries again.
    } finally {
      polling = false;
      if (again) {
        again = false;
        void poll(true);
      }
    }
  };

  const unsubscribe = feed?.subscribe({
    change(change) {
      if (change.kind === 'index')
        publish({ env: change.env, name: change.channel }, change.version);
      else if (change.kind === 'token') endStreamsOf([change.id]);
    },
    listening: () => void poll(true),
  });

  const startPolling = (): void => {
    if (timer !== null) return;
    timer = setInterval(() => void poll(false), pollIntervalMs);
    timer.unref();
  };

  const stopPolling = (): void => {
    if (timer !== null) clearInterval(timer);
    timer = null;
  };

  return {
    subscribe(key, since, listener, holder) {
      const id = channelKeyOf(key.env, key.name);
      let entry = channels.get(id);
      if (entry === undefined) {
        entry = { key: { env: key.env, name: key.name }, subscribers: new Set() };
        channels.set(id, entry);
      }
      const subscriber: Subscriber = { last: since, listener, holder };
      entry.subscribers.add(subscriber);
      startPolling();
      const newest = latest.get(id) ?? 0;
      if (newest > since) {
        subscriber.last = newest;
        try {
          listener(newest);
        } catch {
          // As in publish: the subscriber's failure is its own.
        }
      }
      return () => {
        const current = channels.get(id);
        if (current === undefined) return;
        current.subscribers.delete(subscriber);
        if (current.subscribers.size === 0) channels.delete(id);
        if (channels.size === 0) stopPolling();
      };
    },

    publish,

    endStreamsOf,

    size() {
      let count = 0;
      for (const entry of channels.values()) count += entry.subscribers.size;
      return count;
    },

    close() {
      stopPolling();
      unsubscribe?.();
      channels.clear();
      latest.clear();
    },
  };
}
