import { sql } from 'kysely';
import type { Kysely, RawBuilder } from 'kysely';
import type { CompactRange, DsseEnvelope, NewNode, NodeRef } from '@lockgate/core';
import type { Database } from '../../db/schema.ts';
import { createStatements, readOne } from '../../db/statement-parts.ts';
import type { ReadPart, WritePart } from '../../db/statement-parts.ts';

/** One leaf of the log: seq = leaf index + 1 = the decision record's seq. */
export interface StoredLogEntry {
  seq: number;
  leafHash: Uint8Array;
  envelope: DsseEnvelope;
}

export interface StoredCheckpoint {
  size: number;
  rootHash: Uint8Array;
  /** the checkpoint signed by the log key, without cosignatures */
  note: string;
  createdAt: string;
}

export interface StoredCosignature {
  size: number;
  witness: string;
  keyId: string;
  line: string;
  timestamp: number;
  createdAt: string;
}

export interface LogStore {
  /** Reads the head and locks it until the transaction ends (appends are serial). */
  lockHead(): Promise<CompactRange>;
  /**
   * `lockHead` as a part of a read (`Statements.read`); given `after` (`Statements.readAfter`),
   * it takes the lock only once that read's first part has taken its own.
   */
  lockHeadPart(after?: RawBuilder<unknown>): ReadPart<CompactRange>;
  /** Reads the head without locking. */
  head(): Promise<CompactRange>;
  /** Inserts entries and the subtree hashes they completed, and moves the head. */
  append(
    entries: readonly StoredLogEntry[],
    nodes: readonly NewNode[],
    head: CompactRange,
  ): Promise<void>;
  /** `append` as parts of a write (`Statements.write`). */
  appendParts(
    entries: readonly StoredLogEntry[],
    nodes: readonly NewNode[],
    head: CompactRange,
  ): WritePart[];
  entry(seq: number): Promise<StoredLogEntry | null>;
  /** Entries with seq > afterSeq in order. */
  entries(afterSeq: number, limit: number): Promise<StoredLogEntry[]>;
  /** The stored hashes of the given subtrees, keyed `level/index`; one query. */
  nodes(refs: readonly NodeRef[]): Promise<Map<string, Uint8Array>>;
  latestCheckpoint(): Promise<StoredCheckpoint | null>;
  checkpoint(size: number): Promise<StoredCheckpoint | null>;
  /** Oldest first. */
  checkpoints(): Promise<StoredCheckpoint[]>;
  /** False when a checkpoint of this size exists (another replica made it). */
  insertCheckpoint(checkpoint: StoredCheckpoint): Promise<boolean>;
  /** Keeps one cosignature per (size, witness, key); a newer one replaces the older. */
  putCosignature(cosignature: StoredCosignature): Promise<void>;
  cosignatures(size: number): Promise<StoredCosignature[]>;
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const unb64 = (text: string): Uint8Array => Buffer.from(text, 'base64');
/** SQLite accepts at most 32766 bound values per statement; stay well below. */
const ROWS_PER_INSERT = 500;

export function createLogStore(db: Kysely<Database>): LogStore {
  const readHead = (row: { size: number | string; range_json: string }): CompactRange => {
    const size = Number(row.size);
    const hashes = JSON.parse(row.range_json) as string[];
    // the compact range of [0, size) holds one subtree per set bit of size, largest first
    const levels: number[] = [];
    for (let level = 52; level >= 0; level--) {
      if (Math.floor(size / 2 ** level) % 2 === 1) levels.push(level);
    }
    if (levels.length !== hashes.length) throw new Error('The stored log head is inconsistent');
    return { size, nodes: levels.map((level, i) => ({ level, hash: unb64(hashes[i] as string) })) };
  };

  const lockHeadPart = (after?: RawBuilder<unknown>): ReadPart<CompactRange> => ({
    query: db
      .updateTable('log_head')
      .set((eb) => ({ id: eb.ref('id') }))
      .where('id', '=', 1)
      .$if(after !== undefined, (qb) => qb.where(sql<boolean>`exists (${after})`))
      .returning(['size', 'range_json']),
    decode: (rows) => {
      const row = rows[0];
      if (row === undefined) throw new Error('The log head row is missing');
      return readHead(row as { size: number | string; range_json: string });
    },
  });

  const appendParts = (
    entries: readonly StoredLogEntry[],
    nodes: readonly NewNode[],
    head: CompactRange,
  ): WritePart[] => {
    const parts: WritePart[] = [];
    for (let i = 0; i < entries.length; i += ROWS_PER_INSERT) {
      parts.push(
        db.insertInto('log_entries').values(
          entries.slice(i, i + ROWS_PER_INSERT).map((entry) => ({
            seq: entry.seq,
            leaf_hash: b64(entry.leafHash),
            envelope_json: JSON.stringify(entry.envelope),
          })),
        ),
      );
    }
    for (let i = 0; i < nodes.length; i += ROWS_PER_INSERT) {
      parts.push(
        db.insertInto('log_nodes').values(
          nodes.slice(i, i + ROWS_PER_INSERT).map((node) => ({
            level: node.level,
            idx: node.index,
            hash: b64(node.hash),
          })),
        ),
      );
    }
    parts.push(
      db
        .updateTable('log_head')
        .set({ size: head.size, range_json: JSON.stringify(head.nodes.map((n) => b64(n.hash))) })
        .where('id', '=', 1),
    );
    return parts;
  };

  return {
    lockHead() {
      return readOne(db, lockHeadPart());
    },

    lockHeadPart,

    async head() {
      const row = await db
        .selectFrom('log_head')
        .select(['size', 'range_json'])
        .where('id', '=', 1)
        .executeTakeFirstOrThrow();
      return readHead(row);
    },

    async append(entries, nodes, head) {
      await createStatements(db).write(appendParts(entries, nodes, head));
    },

    appendParts,

    async entry(seq) {
      const row = await db
        .selectFrom('log_entries')
        .selectAll()
        .where('seq', '=', seq)
        .executeTakeFirst();
      return row === undefined ? null : entryOf(row);
    },

    async entries(afterSeq, limit) {
      const rows = await db
        .selectFrom('log_entries')
        .selectAll()
        .where('seq', '>', afterSeq)
        .orderBy('seq')
        .limit(limit)
        .execute();
      return rows.map(entryOf);
    },

    async nodes(refs) {
      const found = new Map<string, Uint8Array>();
      if (refs.length === 0) return found;
      const rows = await db
        .selectFrom('log_nodes')
        .selectAll()
        .where((eb) =>
          eb.or(
            refs.map((ref) => eb.and([eb('level', '=', ref.level), eb('idx', '=', ref.index)])),
          ),
        )
        .execute();
      for (const row of rows) found.set(`${row.level}/${Number(row.idx)}`, unb64(row.hash));
      return found;
    },

    async latestCheckpoint() {
      const row = await db
        .selectFrom('log_checkpoints')
        .selectAll()
        .orderBy('size', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row === undefined ? null : checkpointOf(row);
    },

    async checkpoint(size) {
      const row = await db
        .selectFrom('log_checkpoints')
        .selectAll()
        .where('size', '=', size)
        .executeTakeFirst();
      return row === undefined ? null : checkpointOf(row);
    },

    async checkpoints() {
      const rows = await db.selectFrom('log_checkpoints').selectAll().orderBy('size').execute();
      return rows.map(checkpointOf);
    },

    async insertCheckpoint(checkpoint) {
      const result = await db
        .insertInto('log_checkpoints')
        .values({
          size: checkpoint.size,
          root_hash: b64(checkpoint.rootHash),
          note: checkpoint.note,
          created_at: checkpoint.createdAt,
        })
        .onConflict((conflict) => conflict.column('size').doNothing())
        .executeTakeFirst();
      return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
    },

    async putCosignature(c) {
      await db
        .insertInto('log_cosignatures')
        .values({
          size: c.size,
          witness: c.witness,
          key_id: c.keyId,
          line: c.line,
          timestamp: c.timestamp,
          created_at: c.createdAt,
        })
        .onConflict((conflict) =>
          conflict.columns(['size', 'witness', 'key_id']).doUpdateSet({
            line: c.line,
            timestamp: c.timestamp,
            created_at: c.createdAt,
          }),
        )
        .execute();
    },

    async cosignatures(size) {
      const rows = await db
        .selectFrom('log_cosignatures')
        .selectAll()
        .where('size', '=', size)
        .orderBy('witness')
        .orderBy('key_id')
        .execute();
      return rows.map((row) => ({
        size: Number(row.size),
        witness: row.witness,
        keyId: row.key_id,
        line: row.line,
        timestamp: Number(row.timestamp),
        createdAt: row.created_at,
      }));
    },
  };
}

function entryOf(row: {
  seq: number | string;
  leaf_hash: string;
  envelope_json: string;
}): StoredLogEntry {
  return {
    seq: Number(row.seq),
    leafHash: unb64(row.leaf_hash),
    envelope: JSON.parse(row.envelope_json) as DsseEnvelope,
  };
}

function checkpointOf(row: {
  size: number | string;
  root_hash: string;
  note: string;
  created_at: string;
}): StoredCheckpoint {
  return {
    size: Number(row.size),
    rootHash: unb64(row.root_hash),
    note: row.note,
    createdAt: row.created_at,
  };
}
