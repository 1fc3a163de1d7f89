import { appendLeaf, EMPTY_RANGE, leafHash, rangeRoot, rootOfLeafHashes } from '@lockgate/core';
import type { CompactRange, NewNode } from '@lockgate/core';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { StoredLogEntry } from '../src/features/log/log-store.ts';
import { createStores } from '../src/stores.ts';
import type { Stores } from '../src/stores.ts';
import { DIALECTS, describeDialect } from './helpers/test-database.ts';
import type { TestDatabase } from './helpers/test-database.ts';

const envelope = { payload: 'e30=', payloadType: 'application/vnd.in-toto+json', signatures: [] };

function grow(range: CompactRange, count: number) {
  const entries: StoredLogEntry[] = [];
  const nodes: NewNode[] = [];
  let head = range;
  for (let i = 0; i < count; i++) {
    const hash = leafHash(Buffer.from(`leaf ${head.size}`));
    const next = appendLeaf(head, hash);
    entries.push({ seq: head.size + 1, leafHash: hash, envelope });
    nodes.push(...next.created);
    head = next.range;
  }
  return { entries, nodes, head };
}

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'log store', () => {
    let testDatabase: TestDatabase;
    let stores: Stores;

    beforeEach(async () => {
      testDatabase = await dialect.create();
      stores = createStores(testDatabase.database.db);
    });

    afterEach(async () => {
      await testDatabase.dispose();
    });

    it('starts empty and keeps the head, entries and subtree hashes of appends', async () => {
      expect(await stores.log.head()).toEqual(EMPTY_RANGE);
      const first = grow(EMPTY_RANGE, 5);
      await stores.transaction(async (tx) => {
        await tx.log.lockHead();
        await tx.log.append(first.entries, first.nodes, first.head);
      });
      const second = grow(first.head, 6);
      await stores.transaction(async (tx) => {
        expect((await tx.log.lockHead()).size).toBe(5);
        await tx.log.append(second.entries, second.nodes, second.head);
      });
      const head = await stores.log.head();
      expect(head.size).toBe(11);
      const leaves = [...first.entries, ...second.entries].map((e) => e.leafHash);
      expect(Buffer.from(rangeRoot(head)).equals(Buffer.from(rootOfLeafHashes(leaves)))).toBe(true);
      expect((await stores.log.entry(7))?.leafHash).toEqual(leaves[6]);
      expect((await stores.log.entries(9, 10)).map((e) => e.seq)).toEqual([10, 11]);
      expect(await stores.log.entry(12)).toBeNull();
      const nodes = await stores.log.nodes([
        { level: 3, index: 0 },
        { level: 1, index: 4 },
        { level: 0, index: 10 },
        { level: 2, index: 2 },
      ]);
      expect([...nodes.keys()].sort()).toEqual(['0/10', '1/4', '3/0']);
      expect(nodes.get('0/10')).toEqual(leaves[10]);
    });

    it('rolls an append back with its transaction', async () => {
      const batch = grow(EMPTY_RANGE, 3);
      await expect(
        stores.transaction(async (tx) => {
          await tx.log.lockHead();
          await tx.log.append(batch.entries, batch.nodes, batch.head);
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect((await stores.log.head()).size).toBe(0);
      expect(await stores.log.entry(1)).toBeNull();
    });

    it('keeps one checkpoint per size and one cosignature per witness key and size', async () => {
      const checkpoint = {
        size: 3,
        rootHash: leafHash(Buffer.from('r')),
        note: 'n\n',
        createdAt: 'a',
      };
      expect(await stores.log.insertCheckpoint(checkpoint)).toBe(true);
      expect(await stores.log.insertCheckpoint({ ...checkpoint, note: 'other\n' })).toBe(false);
      await stores.log.insertCheckpoint({ ...checkpoint, size: 9, note: 'nine\n' });
      expect((await stores.log.latestCheckpoint())?.size).toBe(9);
      expect((await stores.log.checkpoint(3))?.note).toBe('n\n');
      expect((await stores.log.checkpoints()).map((c) => c.size)).toEqual([3, 9]);
      const cosignature = {
        size: 3,
        witness: 'w',
        keyId: '01020304',
        line: 'one\n',
        timestamp: 2 ** 40,
        createdAt: 'a',
      };
      await stores.log.putCosignature(cosignature);
      await stores.log.putCosignature({ ...cosignature, line: 'two\n', timestamp: 2 ** 41 });
      expect(await stores.log.cosignatures(3)).toEqual([
        { ...cosignature, line: 'two\n', timestamp: 2 ** 41 },
      ]);
      expect(await stores.log.cosignatures(9)).toEqual([]);
    });
  });
}
