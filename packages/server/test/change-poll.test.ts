import { describe, expect, it } from 'vitest';
import { watchChanges } from '../src/change-feed.ts';
import type { Change, ChangeFeed, ChangeSubscriber } from '../src/change-feed.ts';
import { createChangePoll } from '../src/change-poll.ts';

/** A feed in memory: the test says when it listens and what it hears. */
function memoryFeed() {
  const subscribers = new Set<ChangeSubscriber>();
  let session: number | null = null;
  let sessions = 0;
  const feed: ChangeFeed = {
    session: () => session,
    subscribe(subscriber) {
      subscribers.add(subscriber);
      return () => subscribers.delete(subscriber);
    },
  };
  return {
    feed,
    connect() {
      sessions += 1;
      session = sessions;
      const begun = sessions;
      for (const s of [...subscribers]) s.listening?.(begun);
    },
    disconnect() {
      session = null;
    },
    hear(change: Change) {
      for (const s of [...subscribers]) s.change?.(change);
    },
  };
}

/** Asks the test answers by hand, and how many were made. */
function manualAsks() {
  const pending: ((ids: string[]) => void)[] = [];
  return {
    count: () => pending.length,
    changedSince: () => new Promise<string[]>((resolve) => pending.push(resolve)),
    async answer(ids: string[] = []) {
      const next = pending.shift();
      if (next === undefined) throw new Error('no ask is waiting');
      next(ids);
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

const INTERVAL_MS = 1000;

function pollWith(feed: ChangeFeed, asks: ReturnType<typeof manualAsks>, clock: { t: number }) {
  const changed: string[] = [];
  const poll = createChangePoll<string>({
    intervalMs: INTERVAL_MS,
    skewMs: 0,
    changedSince: asks.changedSince,
    onChanged: (ids) => changed.push(...ids),
    feed: {
      source: feed,
      pick: (change) => (change.kind === 'token' ? change.id : null),
      safetyIntervalMs: 30_000,
    },
    now: () => clock.t,
  });
  return { poll, changed };
}

describe('the change poll with a feed', () => {
  it('trusts the feed only once an ask begun in its session has succeeded', async () => {
    const memory = memoryFeed();
    const asks = manualAsks();
    const clock = { t: 0 };
    const { poll } = pollWith(memory.feed, asks, clock);
    memory.connect();
    poll.start();
    expect(asks.count()).toBe(1);
    // Long after the last ask: without the feed this would not be fresh.
    clock.t = 10 * INTERVAL_MS;
    expect(poll.fresh()).toBe(false);
    await asks.answer();
    expect(poll.fresh()).toBe(true);
    clock.t = 100 * INTERVAL_MS;
    expect(poll.fresh()).toBe(true);
    poll.stop();
  });

  it('is not fresh after a reconnect until it caught up on what it missed', async () => {
    const memory = memoryFeed();
    const asks = manualAsks();
    const clock = { t: 0 };
    const { poll, changed } = pollWith(memory.feed, asks, clock);
    memory.connect();
    poll.start();
    await asks.answer();
    clock.t = 10 * INTERVAL_MS;
    memory.disconnect();
    expect(poll.fresh()).toBe(false);
    memory.connect();
    expect(asks.count()).toBe(1);
    expect(poll.fresh()).toBe(false);
    await asks.answer(['tok_missed']);
    expect(changed).toEqual(['tok_missed']);
    expect(poll.fresh()).toBe(true);
    poll.stop();
  });

  it('hands the changes the feed hears to onChanged, and only its kind', () => {
    const memory = memoryFeed();
    const asks = manualAsks();
    const { poll, changed } = pollWith(memory.feed, asks, { t: 0 });
    poll.start();
    memory.hear({ kind: 'token', id: 'tok_1' });
    memory.hear({ kind: 'target', id: 'host-1', updatedAt: null });
    expect(changed).toEqual(['tok_1']);
    poll.stop();
    memory.hear({ kind: 'token', id: 'tok_2' });
    expect(changed).toEqual(['tok_1']);
  });
});

describe('watchChanges', () => {
  it('resolves true for keys heard before or after the call, false when the feed is not listening', async () => {
    const memory = memoryFeed();
    memory.connect();
    const watch = watchChanges(memory.feed, (c) => (c.kind === 'token' ? c.id : null));
    memory.hear({ kind: 'token', id: 'a' });
    const later = watch.heard(['a', 'b'], 60_000);
    memory.hear({ kind: 'token', id: 'b' });
    expect(await later).toBe(true);
    expect(await watch.heard(['c'], 10)).toBe(false);
    memory.disconnect();
    expect(await watch.heard(['d'], 60_000)).toBe(false);
    watch.stop();
  });
});
