import { randomUUID } from 'node:crypto';
import { canonicalBytes, digestOf } from '@lockgate/core';
import type { DecisionDraft } from '@lockgate/core';
import type { Stores } from '../../stores.ts';
import { logDecisionRecords } from '../log/log-decision-records.ts';
import type { DecisionRecord } from './decision-store.ts';

/** A decision record before the log gives it an id, a place in the chain and its digests. */
export type DecisionRecordDraft = Omit<DecisionRecord, 'seq' | 'id' | 'digest' | 'prevDigest'>;

/**
 * The digest of a record: sha256 of the JCS of the record without `seq` and `digest` but with
 * `prevDigest` (the rule of core `decisionDigest`, applied to the whole record), so the log is a
 * hash chain: changing, removing or reordering any record breaks every later link.
 */
export function decisionRecordDigest(record: Omit<DecisionRecord, 'seq' | 'digest'>): string {
  const body: Omit<DecisionRecord, 'seq' | 'digest'> = {
    id: record.id,
    release: record.release,
    env: record.env,
    channel: record.channel,
    at: record.at,
    kind: record.kind,
    rule: record.rule,
    actor: record.actor,
    reason: record.reason,
    from: record.from,
    to: record.to,
    stageIndex: record.stageIndex,
    inputs: record.inputs,
    verdict: record.verdict,
    holder: record.holder,
    prevDigest: record.prevDigest,
  };
  return digestOf(canonicalBytes(body));
}

/**
 * Appends records to the log inside the caller's transaction: locks the chain head, links each
 * record to the previous one and moves the head. Inputs are normalized to plain JSON first, so
 * the stored record hashes to the same digest when read back.
 */
export async function appendDecisions(
  tx: Stores,
  drafts: readonly DecisionRecordDraft[],
): Promise<DecisionRecord[]> {
  if (drafts.length === 0) return [];
  const head = await tx.decisions.lockHead();
  let { lastSeq, lastDigest } = head;
  const records: DecisionRecord[] = [];
  for (const draft of drafts) {
    const unsealed: Omit<DecisionRecord, 'seq' | 'digest'> = {
      ...draft,
      id: `dec_${randomUUID()}`,
      inputs: JSON.parse(JSON.stringify(draft.inputs)) as Record<string, unknown>,
      prevDigest: lastDigest,
    };
    const record: DecisionRecord = {
      ...unsealed,
      seq: lastSeq + 1,
      digest: decisionRecordDigest(unsealed),
    };
    await tx.decisions.insert(record);
    records.push(record);
    lastSeq = record.seq;
    lastDigest = record.digest;
  }
  await tx.decisions.setHead({ lastSeq, lastDigest });
  await logDecisionRecords(tx, records);
  return records;
}

/** A core decision draft of a release as a record draft of its channel. */
export function releaseDecision(
  draft: DecisionDraft,
  where: { env: string; channel: string; holder: string | null },
): DecisionRecordDraft {
  return {
    release: draft.release,
    env: where.env,
    channel: where.channel,
    at: draft.at,
    kind: draft.kind,
    rule: draft.rule,
    actor: draft.actor,
    reason: draft.reason,
    from: draft.from,
    to: draft.to,
    stageIndex: draft.stageIndex,
    inputs: draft.inputs,
    verdict: draft.verdict,
    holder: where.holder,
  };
}

/** The core decision draft a release record was made from (for replay with decisionDigest). */
export function draftOf(record: DecisionRecord): DecisionDraft | null {
  if (record.release === null || record.from === null || record.to === null) return null;
  if (record.stageIndex === null) return null;
  return {
    release: record.release,
    at: record.at,
    kind: record.kind as DecisionDraft['kind'],
    rule: record.rule,
    actor: record.actor,
    reason: record.reason,
    from: record.from as DecisionDraft['from'],
    to: record.to as DecisionDraft['to'],
    stageIndex: record.stageIndex,
    inputs: record.inputs,
    verdict: record.verdict,
  };
}

export interface ChainVerification {
  ok: boolean;
  /** records checked */
  checked: number;
  /** the first record that does not verify, with why; null when ok */
  broken: { seq: number; problem: string } | null;
}

/**
 * Verifies a run of consecutive records: seq increases by one, each prevDigest is the previous
 * digest (the first one's is `previousDigest`, null from the start of the log), and each digest
 * is the record's own.
 */
export function verifyDecisionChain(
  records: readonly DecisionRecord[],
  previousDigest: string | null = null,
): ChainVerification {
  let prev = previousDigest;
  let prevSeq: number | null = null;
  for (const [i, record] of records.entries()) {
    const fail = (problem: string): ChainVerification => ({
      ok: false,
      checked: i,
      broken: { seq: record.seq, problem },
    });
    if (prevSeq !== null && record.seq !== prevSeq + 1) {
      return fail(`seq ${record.seq} does not follow ${prevSeq}`);
    }
    if (record.prevDigest !== prev) return fail('prevDigest is not the previous record digest');
    const { seq: _seq, digest, ...unsealed } = record;
    if (decisionRecordDigest(unsealed) !== digest) return fail('digest does not match the record');
    prev = digest;
    prevSeq = record.seq;
  }
  return { ok: true, checked: records.length, broken: null };
}
