import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { aheadInLine, SqliteTurns } from '../src/db/sqlite-dialect.ts';
import { DIALECTS } from './helpers/test-database.ts';
import type { TestDatabase } from './helpers/test-database.ts';

const sqlite = DIALECTS.find((dialect) => dialect.name === 'sqlite');

describe('the node:sqlite dialect', () => {
  let testDatabase: TestDatabase;

  beforeEach(async () => {
    if (sqlite === undefined) throw new Error('no sqlite dialect');
    testDatabase = await sqlite.create();
  });

  afterEach(async () => {
    await testDatabase.dispose();
  });

  const pragma = async (name: string): Promise<unknown> => {
    const result = await sql<Record<string, unknown>>`${sql.raw(`pragma ${name}`)}`.execute(
      testDatabase.database.db,
    );
    return Object.values(result.rows[0] ?? {})[0];
  };

  it('runs in WAL mode with foreign keys, synchronous=FULL and a busy timeout', async () => {
    expect(await pragma('journal_mode')).toBe('wal');
    expect(await pragma('foreign_keys')).toBe(1);
    expect(await pragma('synchronous')).toBe(2);
    expect(await pragma('busy_timeout')).toBe(5000);
  });

  it('returns rows for reading statements and counts for writing ones', async () => {
    const { db } = testDatabase.database;
    const inserted = await db
      .insertInto('api_tokens')
      .values({
        id: 't',
        name: 'n',
        token_hash: 'h',
        role: 'admin',
        created_at: 'now',
        revoked_at: null,
      })
      .executeTakeFirst();
    expect(inserted.numInsertedOrUpdatedRows).toBe(1n);
    const returned = await db
      .updateTable('api_tokens')
      .set({ name: 'm' })
      .returning(['id', 'name'])
      .execute();
    expect(returned).toEqual([{ id: 't', name: 'm' }]);
  });

  it('streams select results', async () => {
    const { db } = testDatabase.database;
    for (const id of ['a', 'b', 'c']) {
      await db
        .insertInto('api_tokens')
        .values({ id, name: id, token_hash: id, role: 'admin', created_at: 'x', revoked_at: null })
        .execute();
    }
    const seen: string[] = [];
    for await (const row of db.selectFrom('api_tokens').select('id').orderBy('id').stream()) {
      seen.push(row.id);
    }
    expect(seen).toEqual(['a', 'b', 'c']);
  });

  it('binds booleans as integers', async () => {
    const result = await sql<{ v: number }>`select ${true} + ${false} as v`.execute(
      testDatabase.database.db,
    );
    expect(result.rows).toEqual([{ v: 1 }]);
  });
});

describe('turns at the SQLite file', () => {
  it('are taken in the order asked for, an operator command’s before the others waiting', async () => {
    const turns = new SqliteTurns();
    const order: string[] = [];
    const ends = new Map<string, () => void>();
    const ask = (name: string): Promise<void> =>
      turns.take().then((end) => {
        order.push(name);
        ends.set(name, end);
      });
    await ask('held');
    const waiting = Promise.all([
      ask('tick'),
      ask('batch'),
      aheadInLine(() => ask('pause')),
      ask('status'),
      aheadInLine(() => ask('resume')),
    ]);
    const endHeld = ends.get('held');
    endHeld?.();
    endHeld?.(); // a turn ended twice is ended once: one turn still starts
    // end each turn once it has started, in the order they start
    for (let started = 1; started < 6; started++) {
      await new Promise((resolve) => setImmediate(resolve));
      expect(order).toHaveLength(started + 1);
      ends.get(order.at(-1) ?? '')?.();
    }
    await waiting;
    expect(order).toEqual(['held', 'pause', 'resume', 'tick', 'batch', 'status']);
  });

  it('keeps one turn held at a time when they are taken one after another', async () => {
    const turns = new SqliteTurns();
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 3 === 0 ? aheadInLine : <T>(task: () => Promise<T>) => task())(() =>
          turns.run(async () => {
            inside += 1;
            most = Math.max(most, inside);
            await new Promise((resolve) => setImmediate(resolve));
            inside -= 1;
          }),
        ),
      ),
    );
    expect(most).toBe(1);
    expect(inside).toBe(0);
  });
});
