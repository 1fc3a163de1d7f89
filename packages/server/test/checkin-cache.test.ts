import type { DsseEnvelope } from '@lockgate/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createCheckinCache } from '../src/features/targets/checkin-cache.ts';
import type { CheckinCache } from '../src/features/targets/checkin-cache.ts';
import type { StoredTarget } from '../src/features/targets/target-store.ts';

function target(id: string, updatedAt: string, zone = 'west'): StoredTarget {
  return {
    id,
    env: 'prod',
    channel: 'stable',
    labels: { zone },
    capabilities: {},
    activePack: null,
    lastAttempt: null,
    lastReportAt: null,
    registeredAt: updatedAt,
    updatedAt,
  };
}

/** A stand-in for the database the cache reads through, counting reads. */
function world() {
  const rows = new Map<string, StoredTarget>([['t-1', target('t-1', '2026-01-01T00:00:00.000Z')]]);
  const changes: { id: string; updatedAt: string }[] = [];
  const reads = { targets: 0, indexes: 0 };
  let gate: Promise<void> | null = null;
  const options = {
    loadTarget: async (id: string) => {
      reads.targets += 1;
      const row = rows.get(id) ?? null;
      if (gate !== null) await gate;
      return row;
    },
    loadIndex: () => {
      reads.indexes += 1;
      return Promise.reject(new Error('no index in this test'));
    },
    targetsUpdatedSince: () => Promise.resolve(changes),
    maxAgeMs: 20,
  };
  return {
    rows,
    changes,
    reads,
    options,
    hold(): () => void {
      let release = (): void => undefined;
      gate = new Promise((done) => (release = done));
      return () => {
        gate = null;
        release();
      };
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

describe('the check-in cache', () => {
  let cache: CheckinCache | null = null;
  afterEach(() => cache?.close());

  it('reads a target once, then serves it from memory until told it changed', async () => {
    const w = world();
    cache = createCheckinCache(w.options);
    expect((await cache.target('t-1'))?.labels).toEqual({ zone: 'west' });
    await cache.target('t-1');
    expect(w.reads.targets).toBe(1);
    w.rows.set('t-1', target('t-1', '2026-01-02T00:00:00.000Z', 'east'));
    cache.targetChanged('t-1');
    expect((await cache.target('t-1'))?.labels).toEqual({ zone: 'east' });
    expect(w.reads.targets).toBe(2);
  });

  it('serves the row a registration committed without reading it, and drops it when another process changes it', async () => {
    const w = world();
    cache = createCheckinCache(w.options);
    const registered = target('t-2', '2026-01-02T00:00:00.000Z', 'north');
    w.rows.set('t-2', registered);
    cache.targetStored(registered);
    expect((await cache.target('t-2'))?.labels).toEqual({ zone: 'north' });
    expect(w.reads.targets).toBe(0);
    // Another replica moved it: the poll names a newer row, which is read again.
    w.rows.set('t-2', target('t-2', '2026-01-03T00:00:00.000Z', 'south'));
    w.changes.push({ id: 't-2', updatedAt: '2026-01-03T00:00:00.000Z' });
    await sleep(60);
    expect((await cache.target('t-2'))?.labels).toEqual({ zone: 'south' });
    expect(w.reads.targets).toBe(1);
  });

  it('does not keep a read that was in flight when a registration stored a newer row', async () => {
    const w = world();
    cache = createCheckinCache(w.options);
    const release = w.hold();
    const stale = cache.target('t-1');
    const moved = target('t-1', '2026-01-02T00:00:00.000Z', 'east');
    w.rows.set('t-1', moved);
    cache.targetStored(moved);
    release();
    expect((await stale)?.labels).toEqual({ zone: 'west' });
    expect((await cache.target('t-1'))?.labels).toEqual({ zone: 'east' });
    expect(w.reads.targets).toBe(1);
  });

  it('does not keep a read that was in flight when a change was told', async () => {
    const w = world();
    cache = createCheckinCache(w.options);
    const release = w.hold();
    const stale = cache.target('t-1');
    w.rows.set('t-1', target('t-1', '2026-01-02T00:00:00.000Z', 'east'));
    cache.targetChanged('t-1');
    release();
    expect((await stale)?.labels).toEqual({ zone: 'west' });
    expect((await cache.target('t-1'))?.labels).toEqual({ zone: 'east' });
  });

  it('drops a target another process changed once the change poll names it', async () => {
    const w = world();
    cache = createCheckinCache(w.options);
    await cache.target('t-1');
    // The poll names the row it already holds: kept.
    w.changes.push({ id: 't-1', updatedAt: '2026-01-01T00:00:00.000Z' });
    await sleep(60);
    await cache.target('t-1');
    expect(w.reads.targets).toBe(1);
    // Another replica moved it: dropped, read again.
    w.rows.set('t-1', target('t-1', '2026-01-03T00:00:00.000Z', 'east'));
    w.changes.push({ id: 't-1', updatedAt: '2026-01-03T00:00:00.000Z' });
    await sleep(60);
    expect((await cache.target('t-1'))?.labels).toEqual({ zone: 'east' });
    expect(w.reads.targets).toBe(2);
  });

  it('reads through while the change poll fails', async () => {
    const w = world();
    cache = createCheckinCache({
      ...w.options,
      targetsUpdatedSince: () => Promise.reject(new Error('database away')),
    });
    await cache.target('t-1');
    await sleep(100);
    await cache.target('t-1');
    await cache.target('t-1');
    expect(w.reads.targets).toBe(3);
  });

  it('keeps no unknown target', async () => {
    const w = world();
    cache = createCheckinCache(w.options);
    expect(await cache.target('nope')).toBeNull();
    expect(await cache.target('nope')).toBeNull();
    expect(w.reads.targets).toBe(2);
  });

  it('serves an index until a newer version is told, and never keeps an older one', async () => {
    const envelope = (version: number): DsseEnvelope => ({
      payloadType: 'application/vnd.lockgate.channel-index+json',
      payload: Buffer.from(
        JSON.stringify({
          schema: 'lockgate.channel-index/v1',
          env: 'prod',
          channel: 'stable',
          version,
          issuedAt: '2026-01-01T00:00:00Z',
          expiresAt: '2026-01-02T00:00:00Z',
          packs: {},
          base: null,
          rollout: null,
          pins: [],
          floor: null,
          revoked: [],
          rollbackAuthorizations: [],
        }),
      ).toString('base64'),
      signatures: [],
    });
    let stored = 1;
    let reads = 0;
    cache = createCheckinCache({
      ...world().options,
      maxAgeMs: 60_000,
      loadIndex: () => {
        reads += 1;
        return Promise.resolve({ version: stored, envelope: envelope(stored) });
      },
    });
    expect((await cache.index('prod', 'stable')).version).toBe(1);
    expect((await cache.index('prod', 'stable')).version).toBe(1);
    expect(reads).toBe(1);
    stored = 2;
    cache.indexChanged({ env: 'prod', name: 'stable' }, 2);
    expect((await cache.index('prod', 'stable')).version).toBe(2);
    cache.indexChanged({ env: 'prod', name: 'stable' }, 2);
    expect((await cache.index('prod', 'stable')).payload.version).toBe(2);
    expect(reads).toBe(2);
  });
});
