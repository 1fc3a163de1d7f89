/**
 * Learns what other processes on the same database changed, by asking every `intervalMs` for
 * what changed since the previous ask (less `skewMs`, so a replica whose clock lags, or a
 * transaction that committed late, is still seen). What a cache in memory needs to keep an entry
 * until it changes, rather than for a fixed time.
 *
 * `fresh()` is false when no ask has succeeded for three intervals (the database is away, the
 * loop stalled): a cache then reads through instead of serving what it may have missed.
 */
/** How far another replica's clock (or a slow commit) may lag behind ours and still be seen. */
export const CHANGE_POLL_SKEW_MS = 60_000;

export interface ChangePoll {
  /** Starts asking (once; the timer does not keep the process alive). */
  start(): void;
  stop(): void;
  fresh(): boolean;
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
  /** Monotonic milliseconds (default performance.now). */
  now?: () => number;
}): ChangePoll {
  const now = options.now ?? (() => performance.now());
  const wallClock = options.wallClock ?? Date.now;
  let timer: NodeJS.Timeout | null = null;
  let running = false;
  let lastAsk = wallClock();
  let lastSuccess = now();

  const poll = async (): Promise<void> => {
    if (running) return;
    running = true;
    const startedAt = wallClock();
    const started = now();
    try {
      const since = new Date(lastAsk - options.skewMs).toISOString();
      const changes = await options.changedSince(since);
      if (changes.length > 0) options.onChanged(changes);
      lastAsk = startedAt;
      lastSuccess = started;
    } catch {
      // The next ask covers this interval too; fresh() turns false if asks keep failing.
    } finally {
      running = false;
    }
  };

  return {
    start() {
      if (timer !== null) return;
      lastAsk = wallClock();
      lastSuccess = now();
      timer = setInterval(() => void poll(), options.intervalMs);
      timer.unref();
    },
    stop() {
      if (timer !== null) clearInterval(timer);
      timer = null;
    },
    fresh() {
      return timer !== null && now() - lastSuccess <= 3 * options.intervalMs;
    },
  };
}
