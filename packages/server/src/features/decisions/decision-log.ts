import { canonicalBytes, digestOf, releaseDraftOf } from '@lockgate/core';
import type { DecisionDraft } from '@lockgate/core';
import type { DecisionRecord } from './decision-store.ts';

/**
 * A decision record before the log gives it an id, a place in the chain, its digests and the
 * version of the core that decided.
 */
export type DecisionRecordDraft = Omit<
  DecisionRecord,
  'seq' | 'id' | 'digest' | 'prevDigest' | 'coreVersion'
>;

/**
 * The digest of a record: sha256 of the JCS of the record without `seq` and `digest` but with
 * `prevDigest` (the rule of core `decisionDigest`, applied to the whole record), so the log is a
 * hash chain: changing, removing or reordering any record breaks every later link. `coreVersion`
 * enters the body only when it is set: records written before it was kept (null) hash exactly as
 * they did when they were written, and a newer record's core version cannot be changed or
 * removed without breaking its digest (removing it changes the body too).
 */
export function decisionRecordDigest(record: Omit<DecisionRecord, 'seq' | 'digest'>): string {
  const body: Omit<DecisionRecord, 'seq' | 'digest' | 'coreVersion'> & { coreVersion?: string } = {
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
    ...(record.coreVersion === null ? {} : { coreVersion: record.coreVersion }),
  };
  return digestOf(canonicalBytes(body));
}

/** The core decision draft a release record was made from (for replay with decisionDigest). */
export function draftOf(record: DecisionRecord): DecisionDraft | null {
  return releaseDraftOf(record);
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
