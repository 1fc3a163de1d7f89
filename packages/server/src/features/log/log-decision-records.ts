import { appendLeaf, decisionStatement, isDigest, logEntryOf } from '@lockgate/core';
import type { CompactRange, DecisionSubjects, NewNode } from '@lockgate/core';
import type { Stores } from '../../stores.ts';
import type { DecisionRecord } from '../decisions/public.ts';
import { loadLogKey } from '../server-keys/public.ts';
import type { LogSigningKey } from '../server-keys/public.ts';
import type { StoredLogEntry } from './log-store.ts';

/** How many older records a catch-up reads per query. */
const CATCH_UP_PAGE = 1000;

/** What appending records to the log writes (`LogStore.append` / `appendParts`). */
export interface LogAppend {
  entries: StoredLogEntry[];
  nodes: NewNode[];
  head: CompactRange;
}

/**
 * Appends decision records to the transparency log in the caller's transaction: each record
 * becomes an in-toto Statement in a DSSE envelope signed by the log key, leaf seq - 1 of the
 * tree. Call it with the records just appended to the decision chain, in seq order, while the
 * chain head is locked. (The record step reads the head and key with its other reads and writes
 * `logAppendOf`'s rows with its other writes: commit-road.ts.)
 */
export async function logDecisionRecords(
  tx: Pick<Stores, 'log' | 'serverKeys' | 'decisions'>,
  records: readonly DecisionRecord[],
): Promise<void> {
  const first = records[0];
  if (first === undefined) return;
  const key = await loadLogKey(tx, first.at);
  const append = await logAppendOf(tx, records, await tx.log.lockHead(), key);
  if (append !== null) await tx.log.append(append.entries, append.nodes, append.head);
}

/**
 * The rows that append `records` to the log whose head (locked by the caller) is `head`, or null
 * when they are logged already (a retried call). Records the log does not hold yet from before
 * (a database older than the log) are logged first, read in pages, so leaf i is always record
 * i + 1.
 */
export async function logAppendOf(
  tx: Pick<Stores, 'decisions'>,
  records: readonly DecisionRecord[],
  head: CompactRange,
  key: LogSigningKey,
): Promise<LogAppend | null> {
  const first = records[0];
  if (first === undefined || head.size >= first.seq) return null;
  const pending: DecisionRecord[] = [];
  while (head.size + pending.length < first.seq - 1) {
    const older = await tx.decisions.list({
      afterSeq: head.size + pending.length,
      limit: Math.min(CATCH_UP_PAGE, first.seq - 1 - head.size - pending.length),
    });
    if (older.length === 0) throw new Error('The decision log has a gap the log cannot fill');
    pending.push(...older);
  }
  pending.push(...records);
  const entries: StoredLogEntry[] = [];
  const nodes: NewNode[] = [];
  let range = head;
  for (const record of pending) {
    if (record.seq !== range.size + 1) {
      throw new Error(`Decision record ${record.seq} is not the next log leaf ${range.size + 1}`);
    }
    const entry = logEntryOf(decisionStatement({ ...record }, subjectsOf(record)), key);
    const next = appendLeaf(range, entry.leafHash);
    range = next.range;
    nodes.push(...next.created);
    entries.push({ seq: record.seq, leafHash: entry.leafHash, envelope: entry.envelope });
  }
  return { entries, nodes, head: range };
}

/** The packs and channel indexes a record's inputs name by digest (top level or `.digest`). */
export function subjectsOf(record: DecisionRecord): DecisionSubjects {
  const packs: string[] = [];
  const channelIndexes: string[] = [];
  for (const [name, value] of Object.entries(record.inputs)) {
    const digest =
      typeof value === 'string'
        ? value
        : typeof value === 'object' && value !== null && 'digest' in value
          ? value.digest
          : null;
    if (!isDigest(digest)) continue;
    if (/index/i.test(name)) channelIndexes.push(digest);
    else if (/pack/i.test(name)) packs.push(digest);
  }
  return { packs, channelIndexes };
}
