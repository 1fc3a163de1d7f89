import type { Change, ChangeFeed } from './change-feed.ts';

/**
 * Learns what other processes on the same database changed, by asking every `intervalMs` for
 * what changed since the previous ask (less `skewMs`, so a replica whose clock lags, or a
 * transaction that committed late, is still seen). What a cache in memory needs to keep an entry
 * until it changes, rather than for a fixed time.
 *
 * With a `feed` (PostgreSQL LISTEN/NOTIFY, change-feed.ts) the changes it tells are handed to
 * `onChanged` as they commit, and the ask becomes a safety net run every `safetyIntervalMs`;
 * when a feed session begins (connect or reconnect) an ask runs at once to catch up on what was
 * committed while the feed was not listening.
 *
 * `fresh()` is true while the feed listens and an ask begun during its current session has
 * succeeded; otherwise while an ask succeeded within three intervals. When false (the database
 * is away, the loop stalled, the feed just reconnected) a cache reads through instead of serving
 * what it may have missed.
 */
/** How far another replica's clock (or a slow commit) may lag behind ours and still be seen. */
export const CHANGE_POLL_SKEW_MS = 60_000;

export interface ChangePoll {
  /** Starts asking (once; the timer does not keep the process alive). */
  start(): void;
  stop(): void;
  fresh(): boolean;
}

export interface ChangePollFeed<T> {
  source: ChangeFeed;
  /** The change as the poll's onChanged takes it, or null when it is not this poll's kind. */
  pick(change: Change): T | null;
  /** How often to ask while the feed listens and is caught up. */
  safetyIntervalMs: number;
}

export function createChangePoll<T>(options: {
  /**
   * Wall-clock milliseconds (default Date.now), compared with the times other processes stamped
   * on their changes; not the services' Clock, which tests move by hand and whose reads they
   * count.
   */
  wallClock?: () => number;
  intervalMs: number;
  skewMs: number;
  changedSince(since: string): Promise<readonly T[]>;
  onChanged(changes: readonly T[]): void;
  feed?: ChangePollFeed<T>;
  /** Monotonic milliseconds (default performance.now). */
  now?: () => number;
}): ChangePoll {
  const now = options.now ?? (() => performance.now());
  const wallClock = options.wallClock ?? Date.now;
  const feed = options.feed;
  let timer: NodeJS.Timeout | null = null;
  let unsubscribe: (() => void) | null = null;
  let running = false;
  let again = false;
  let lastAsk = wallClock();
  let lastSuccess = now();
  // The feed session during which an ask began and then succeeded.
  let caughtUp: number | null = null;

  const listening = (): number | null => {
    const session = feed?.source.session() ?? null;
    return session !== null && session === caughtUp ? session : null;
  };

  const poll = async (force: boolean): Promise<void> => {
    if (running) {
      // An ask is under way; a forced one (a new feed session) must begin after this one.
      again ||= force;
      return;
    }
    if (!force && feed !== undefined && listening() !== null) {
      if (now() - lastSuccess < feed.safetyIntervalMs) return;
    }
    running = true;
    const startedAt = wallClock();
    const started = now();
    const session = feed?.source.session() ?? null;
    try {
      const since = new Date(lastAsk - options.skewMs).toISOString();
      const changes = await options.changedSince(since);
      if (changes.length > 0) options.onChanged(changes);
      lastAsk = startedAt;
      lastSuccess = started;
      caughtUp = session;
    } catch {
      // The next ask covers this interval too; fresh() turns false if asks keep failing.
    } finally {
      running = false;
      if (again) {
        again = false;
        void poll(true);
      }
    }
  };

  return {
    start() {
      if (timer !== null) return;
      lastAsk = wallClock();
      lastSuccess = now();
      caughtUp = null;
      timer = setInterval(() => void poll(false), options.intervalMs);
      timer.unref();
      if (feed !== undefined) {
        unsubscribe = feed.source.subscribe({
          change(change) {
            const picked = feed.pick(change);
            if (picked !== null) options.onChanged([picked]);
          },
          listening: () => void poll(true),
        });
        // Already listening: catch up once so fresh() may trust the feed.
        if (feed.source.session() !== null) void poll(true);
      }
    },
    stop() {
      if (timer !== null) clearInterval(timer);
      timer = null;
      unsubscribe?.();
      unsubscribe = null;
    },
    fresh() {
      if (timer === null) return false;
      return listening() !== null || now() - lastSuccess <= 3 * options.intervalMs;
    },
  };
}
