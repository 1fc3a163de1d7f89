import type { Stores } from '../../stores.ts';
import { channelKeyOf } from './channel-store.ts';
import type { ChannelKey } from './channel-store.ts';

export type IndexListener = (version: number) => void;

/**
 * Tells subscribers (SSE streams) when a channel's index version goes up. Changes made in this
 * process are published right after their commit; since another replica may make the change,
 * the hub also polls the stored versions of the subscribed channels (every pollIntervalMs) and
 * publishes what went up. Each subscriber sees each version at most once, in increasing order.
 */
export interface ChannelEvents {
  /** Subscribes; `since` is the version the subscriber already knows. Returns unsubscribe. */
  subscribe(key: ChannelKey, since: number, listener: IndexListener): () => void;
  publish(key: ChannelKey, version: number): void;
  /** Subscriber count (for tests and metrics). */
  size(): number;
  /** Stops polling and drops every subscriber. */
  close(): void;
}

interface Subscriber {
  last: number;
  listener: IndexListener;
}

export const DEFAULT_EVENTS_POLL_MS = 1000;

export function createChannelEvents(deps: {
  stores: Stores;
  pollIntervalMs?: number;
}): ChannelEvents {
  const { stores } = deps;
  const pollIntervalMs = deps.pollIntervalMs ?? DEFAULT_EVENTS_POLL_MS;
  const channels = new Map<string, { key: ChannelKey; subscribers: Set<Subscriber> }>();
  let timer: NodeJS.Timeout | null = null;
  let polling = false;

  const publish = (key: ChannelKey, version: number): void => {
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
    subscribe(key, since, listener) {
      const id = channelKeyOf(key.env, key.name);
      let entry = channels.get(id);
      if (entry === undefined) {
        entry = { key: { env: key.env, name: key.name }, subscribers: new Set() };
        channels.set(id, entry);
      }
      const subscriber: Subscriber = { last: since, listener };
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
