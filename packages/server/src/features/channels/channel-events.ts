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
 * process are published right after their commit; since another replica may make the change,
 * the hub also polls the stored versions of the subscribed channels (every pollIntervalMs) and
 * publishes what went up. Each subscriber sees each version at most once, in increasing order.
 *
 * A stream lives no longer than its token: a revocation in this process ends the streams opened
 * with the revoked tokens at once (endStreamsOf); the same poll ends those whose token another
 * replica revoked.
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
  /** Stops polling and drops every subscriber. */
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

  const publish = (key: ChannelKey, version: number): void => {
    deps.onPublish?.(key, version);
    const entry = channels.get(channelKeyOf(key.env, key.name));
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

  const poll = async (): Promise<void> => {
    if (polling || channels.size === 0) return;
    polling = true;
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
    } catch {
      // The database may be briefly unavailable; the next poll tries again.
    } finally {
      polling = false;
    }
  };

  const startPolling = (): void => {
    if (timer !== null) return;
    timer = setInterval(() => void poll(), pollIntervalMs);
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
      channels.clear();
    },
  };
}
