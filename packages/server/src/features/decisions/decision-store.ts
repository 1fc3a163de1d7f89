import { sql } from 'kysely';
import type { ReplayRecord } from '@lockgate/core';
import type { Kysely, Selectable } from 'kysely';
import type { Database, DecisionRecordsTable } from '../../db/schema.ts';
import { createStatements, rawPart, readOne } from '../../db/statement-parts.ts';
import type { ReadPart, WritePart } from '../../db/statement-parts.ts';

/**
 * One entry of the decision log, as stored and as the API shows it: the record core replays
 * (`ReplayRecord`) and its place in the hash chain. `coreVersion` is part of the record digest
 * only when set, so the digests of older records still verify (decision-log.ts).
 */
export interface DecisionRecord extends ReplayRecord {
  /** the controller (holder id) that decided; null for operator actions */
  holder: string | null;
  digest: string;
  prevDigest: string | null;
}

export interface ChainHead {
  lastSeq: number;
  lastDigest: string | null;
}

export interface DecisionListQuery {
  /** records with seq > afterSeq */
  afterSeq?: number;
  release?: string;
  limit: number;
  /** newest (highest seq) first instead of chain order */
  newestFirst?: boolean;
}

export interface DecisionStore {
  /**
   * Reads the head of the hash chain and locks it until the transaction ends, so appends are
   * serial across processes (a no-op UPDATE … RETURNING takes the row lock on PostgreSQL).
   */
  lockHead(): Promise<ChainHead>;
  /** `lockHead` as the first part of a read (`Statements.readAfter`). */
  lockHeadPart(): ReadPart<ChainHead>;
  setHead(head: ChainHead): Promise<void>;
  insert(record: DecisionRecord): Promise<void>;
  /** Inserts records in order, many rows a statement. */
  insertMany(records: readonly DecisionRecord[]): Promise<void>;
  /** `insertMany` and `setHead` as parts of a write (`Statements.write`). */
  insertParts(records: readonly DecisionRecord[]): WritePart[];
  setHeadPart(head: ChainHead): WritePart;
  /** In chain order, or newest first. */
  list(query: DecisionListQuery): Promise<DecisionRecord[]>;
}

/** 19 columns a row: SQLite binds at most 32766 values a statement, so stay well below. */
const ROWS_PER_INSERT = 200;

function rowOf(record: DecisionRecord) {
  return {
    seq: record.seq,
    id: record.id,
    release_id: record.release,
    env: record.env,
    channel: record.channel,
    at: record.at,
    kind: record.kind,
    rule: record.rule,
    actor: record.actor,
    reason: record.reason,
    from_state: record.from,
    to_state: record.to,
    stage_index: record.stageIndex,
    inputs_json: JSON.stringify(record.inputs),
    verdict: record.verdict,
    holder: record.holder,
    digest: record.digest,
    prev_digest: record.prevDigest,
    core_version: record.coreVersion,
  };
}

const INSERT_COLUMNS = [
  'seq',
  'id',
  'release_id',
  'env',
  'channel',
  'at',
  'kind',
  'rule',
  'actor',
  'reason',
  'from_state',
  'to_state',
  'stage_index',
  'inputs_json',
  'verdict',
  'holder',
  'digest',
  'prev_digest',
  'core_version',
] as const satisfies readonly (keyof ReturnType<typeof rowOf>)[];

export function createDecisionStore(db: Kysely<Database>): DecisionStore {
  const setHeadPart = (head: ChainHead): WritePart =>
    db
      .updateTable('decision_chain')
      .set({ last_seq: head.lastSeq, last_digest: head.lastDigest })
      .where('id', '=', 1);

  const insertParts = (records: readonly DecisionRecord[]): WritePart[] => {
    // A plain multi-row statement: the query builder's per-value work costs more than the
    // insert itself for a batch of records (bench/log-append.bench.ts).
    const parts: WritePart[] = [];
    for (let i = 0; i < records.length; i += ROWS_PER_INSERT) {
      const rows = records.slice(i, i + ROWS_PER_INSERT).map((record) => {
        const row = rowOf(record);
        return sql`(${sql.join(INSERT_COLUMNS.map((column) => row[column]))})`;
      });
      const columns = sql.join(INSERT_COLUMNS.map((column) => sql.ref(column)));
      parts.push(
        rawPart(db, sql`insert into decision_records (${columns}) values ${sql.join(rows)}`),
      );
    }
    return parts;
  };

  const lockHeadPart = (): ReadPart<ChainHead> => ({
    query: db
      .updateTable('decision_chain')
      .set((eb) => ({ id: eb.ref('id') }))
      .where('id', '=', 1)
      .returning(['last_seq', 'last_digest']),
    decode: (rows) => {
      const row = rows[0] as { last_seq: number | string; last_digest: string | null } | undefined;
      if (row === undefined) throw new Error('The decision chain head row is missing');
      return { lastSeq: Number(row.last_seq), lastDigest: row.last_digest };
    },
  });

  return {
    async lockHead() {
      return readOne(db, lockHeadPart());
    },

    lockHeadPart,

    async setHead(head) {
      await db.executeQuery(setHeadPart(head).compile());
    },

    setHeadPart,

    async insert(record) {
      await db.insertInto('decision_records').values(rowOf(record)).execute();
    },

    async insertMany(records) {
      await createStatements(db).write(insertParts(records));
    },

    insertParts,

    async list({ afterSeq, release, limit, newestFirst }) {
      let query = db.selectFrom('decision_records').selectAll();
      if (afterSeq !== undefined) query = query.where('seq', '>', afterSeq);
      if (release !== undefined) query = query.where('release_id', '=', release);
      const rows = await query
        .orderBy('seq', newestFirst === true ? 'desc' : 'asc')
        .limit(limit)
        .execute();
      return rows.map(fromRow);
    },
  };
}

function fromRow(row: Selectable<DecisionRecordsTable>): DecisionRecord {
  return {
    seq: Number(row.seq),
    id: row.id,
    release: row.release_id,
    env: row.env,
    channel: row.channel,
    at: row.at,
    kind: row.kind,
    rule: row.rule,
    actor: row.actor,
    reason: row.reason,
    from: row.from_state,
    to: row.to_state,
    stageIndex: row.stage_index === null ? null : Number(row.stage_index),
    inputs: JSON.parse(row.inputs_json) as Record<string, unknown>,
    verdict: row.verdict,
    holder: row.holder,
    digest: row.digest,
    prevDigest: row.prev_digest,
    coreVersion: row.core_version,
  };
}
