/**
 * What other replicas on the same PostgreSQL database changed, told as it commits (LISTEN/NOTIFY):
 * a channel index version published, a token revoked, a target registered or updated.
 *
 * The notifications are sent by triggers (migration 0013) in the transaction that makes the
 * change, so a change is told exactly when it is committed, by every code path that writes it.
 *
 * Invariants a reader relies on:
 * - `session()` is a number while the feed listens, and a new number after every reconnect;
 *   null while it does not listen (or has not heard from the database for a while). Every change
 *   committed after a session began is told to the subscribers during that session.
 * - What was committed before a session began (while disconnected) is not told: a subscriber
 *   that keeps state catches up when told `listening(session)` (a poll of what changed since
 *   its last ask), and serves nothing from memory on the strength of the feed until then.
 * - SQLite deployments (one process) have no feed: changes of this process are told in process.
 */
export type Change =
  | { kind: 'index'; env: string; channel: string; version: number }
  | { kind: 'token'; id: string }
  /** updatedAt null: the target row is gone */
  | { kind: 'target'; id: string; updatedAt: string | null };

export interface ChangeSubscriber {
  change?(change: Change): void;
  /** A new listening session began (first connect or reconnect): catch up on what was missed. */
  listening?(session: number): void;
}

export interface ChangeFeed {
  /** The current listening session, or null while not listening. */
  session(): number | null;
  /** Returns unsubscribe. */
  subscribe(subscriber: ChangeSubscriber): () => void;
}

/** The channel the triggers notify on. */
export const CHANGE_CHANNEL = 'lockgate_changes';

/**
 * How often a subscriber that keeps state still polls while the feed listens: the safety net
 * for a notification the feed could not deliver (it cannot while connected; the poll also covers
 * a bug in a trigger).
 */
export const CHANGE_FEED_SAFETY_POLL_MS = 30_000;

/** A notification's payload as a Change, or null when it is not one this version knows. */
export function parseChange(payload: string | undefined): Change | null {
  if (payload === undefined) return null;
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const record = value as Record<string, unknown>;
  const text = (key: string): string | null =>
    typeof record[key] === 'string' ? record[key] : null;
  switch (record['kind']) {
    case 'index': {
      const env = text('env');
      const channel = text('channel');
      const version = record['version'];
      if (env === null || channel === null || typeof version !== 'number') return null;
      return { kind: 'index', env, channel, version };
    }
    case 'token': {
      const id = text('id');
      return id === null ? null : { kind: 'token', id };
    }
    case 'target': {
      const id = text('id');
      return id === null ? null : { kind: 'target', id, updatedAt: text('updatedAt') };
    }
    default:
      return null;
  }
}

/** What `watchChanges` heard since it began. */
export interface ChangeWatch {
  /**
   * Resolves true once every key was heard (also before this call), false after `timeoutMs` or
   * at once when the feed does not listen.
   */
  heard(keys: readonly string[], timeoutMs: number): Promise<boolean>;
  stop(): void;
}

/**
 * Collects the keys of the changes `match` names, from now on. A replica that made a change
 * waits until its own listener heard it before answering: PostgreSQL signals every listening
 * session at the same commit, so the other replicas have been sent it too by then.
 */
export function watchChanges(
  feed: ChangeFeed,
  match: (change: Change) => string | null,
): ChangeWatch {
  const heard = new Set<string>();
  let waiting: { keys: readonly string[]; done: (value: boolean) => void } | null = null;
  const all = (keys: readonly string[]): boolean => keys.every((key) => heard.has(key));
  const unsubscribe = feed.subscribe({
    change(change) {
      const key = match(change);
      if (key === null) return;
      heard.add(key);
      if (waiting !== null && all(waiting.keys)) waiting.done(true);
    },
  });
  return {
    heard(keys, timeoutMs) {
      if (all(keys)) return Promise.resolve(true);
      if (feed.session() === null) return Promise.resolve(false);
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => finish(false), timeoutMs);
        const finish = (value: boolean): void => {
          clearTimeout(timer);
          waiting = null;
          resolve(value);
        };
        waiting = { keys, done: finish };
      });
    },
    stop() {
      waiting?.done(false);
      unsubscribe();
    },
  };
}
