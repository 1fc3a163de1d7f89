/**
 * Replay of recorded decisions from the records and their stored contexts, with no store: the
 * server's replay (`POST /releases/{id}/replays`) and the offline bundle verifier run the same
 * code. Each record that names a context (`inputs.context`) and the core version that decided is
 * re-run:
 *
 * - a release decision (core `decide` or `applyCommand`) on its stored `ReleaseContext` at the
 *   record's `at`, the command rebuilt from the record; consecutive controller records with the
 *   same context and time are one `decide` call;
 * - a channel decision (a stored `ChannelCall`: pins, configuration, rollback authorizations,
 *   revocations, a release step's grants) by `replayChannelCall`; consecutive records naming the
 *   same call are its drafts.
 *
 * Each replayed draft's digest is compared with the recorded draft's; a mismatch names the first
 * differing field (the context digest `inputs.context` only when nothing else differs) or why
 * there was nothing to compare. Records that are no core decision (no context) or were written
 * before contexts were kept (no core version) are skipped and are not in the figures.
 *
 * Invariants: pure (contexts come from `contextOf`); an untouched record with its untouched
 * context replays to its digest; the figures add up (matching + mismatches = total).
 */
import { canonicalBytes } from '../canonical-json.ts';
import { digestOf } from '../digest.ts';
import { isLockgateError } from '../errors.ts';
import { isChannelCall, replayChannelCall } from '../channel/channel-call.ts';
import { isContextNamed } from '../release/context-digest.ts';
import { decisionDigest } from '../release/decision-record.ts';
import { commandOfDraft, firstDifference, replayCall } from '../release/decision-replay.ts';
import type { DecisionDraft, ReleaseCommand, ReleaseContext } from '../release/release-state.ts';

/** A decision record as the log holds it (the fields replay reads; the server's record adds its chain). */
export interface ReplayRecord {
  /** position in the hash chain: 1, 2, 3, ... */
  seq: number;
  id: string;
  /** null for records about a channel or environment rather than one release (pins, freezes) */
  release: string | null;
  env: string | null;
  channel: string | null;
  at: string;
  kind: string;
  rule: string;
  actor: string;
  reason: string | null;
  /** release state before and after; null for records that are not about a release's state */
  from: string | null;
  to: string | null;
  stageIndex: number | null;
  inputs: Record<string, unknown>;
  verdict: string;
  /**
   * The core that decided (`CORE_VERSION`, e.g. `0.1.0+decide.1`), stamped on every record the
   * log appends; null on records written before it was kept.
   */
  coreVersion: string | null;
}

/** A stored context: its JSON and whether its bytes still hash to the digest it is kept under. */
export interface ReplayContext {
  context: unknown;
  intact: boolean;
}

/** One decision that did not replay to the digest it was recorded with. */
export interface ReplayMismatch {
  seq: number;
  recordId: string;
  rule: string;
  /**
   * `field` (the replayed draft differs; `field` names where first), `context_missing` (no
   * context under the digest the record names), `refused` (the current core refused the call:
   * `actual` is its error), `decision_missing` / `decision_extra` (fewer / more drafts replayed
   * than recorded)
   */
  problem: 'field' | 'context_missing' | 'refused' | 'decision_missing' | 'decision_extra';
  /** the path into the draft of the first differing field (`inputs.gates[0].threshold`) */
  field: string | null;
  expected?: unknown;
  actual?: unknown;
  /** the core version recorded with the decision */
  recordedBy: string | null;
  /** false when the context no longer hashes to the digest the record names */
  contextIntact: boolean | null;
}

export interface ReplaySkipped {
  seq: number;
  rule: string;
  why: string;
}

export interface ReplayFigures {
  total: number;
  matching: number;
  mismatches: number;
  /** matching / total; 1 when there was nothing to replay */
  matchRate: number;
  mismatched: ReplayMismatch[];
  skipped: ReplaySkipped[];
}

/** The field every replayable draft carries and that differs whenever the context does. */
const CONTEXT_FIELD = 'inputs.context';

/** The core release draft a record was made from; null when it is no release state decision. */
export function releaseDraftOf(record: ReplayRecord): DecisionDraft | null {
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

/** The channel draft a record was made from (every field core drafts). */
function channelDraftOf(record: ReplayRecord): Record<string, unknown> {
  return {
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
  };
}

interface Member {
  record: ReplayRecord;
  context: string;
}

interface Call {
  context: string;
  at: string;
  command: ReleaseCommand | null;
  members: Member[];
}

/** The records the replay re-runs, grouped into calls, and those it skips. */
export function replayCallsOf(records: readonly ReplayRecord[]): {
  calls: Call[];
  skipped: ReplaySkipped[];
} {
  const calls: Call[] = [];
  const skipped: ReplaySkipped[] = [];
  for (const record of records) {
    const context = record.inputs['context'];
    if (typeof context !== 'string') {
      skipped.push({
        seq: record.seq,
        rule: record.rule,
        why: record.release === null ? 'not a core decision' : 'not a core release decision',
      });
      continue;
    }
    if (typeof record.coreVersion !== 'string') {
      skipped.push({
        seq: record.seq,
        rule: record.rule,
        why: 'recorded before decision contexts were kept',
      });
      continue;
    }
    const draft = releaseDraftOf(record);
    const command = draft === null ? null : commandOfDraft(draft);
    const last = calls.at(-1);
    const member = { record, context };
    // A tick's decide writes consecutive records with one context and time (a channel call
    // consecutive records naming it); a command one record.
    if (
      last !== undefined &&
      command === null &&
      last.command === null &&
      last.context === context &&
      last.at === record.at
    ) {
      last.members.push(member);
    } else {
      calls.push({ context, at: record.at, command, members: [member] });
    }
  }
  return { calls, skipped };
}

function mismatch(
  member: Member,
  rest: Pick<ReplayMismatch, 'problem' | 'field'> & { expected?: unknown; actual?: unknown },
  contextIntact: boolean | null,
): ReplayMismatch {
  return {
    seq: member.record.seq,
    recordId: member.record.id,
    rule: member.record.rule,
    recordedBy: member.record.coreVersion,
    contextIntact,
    ...rest,
  };
}

/** The recorded and replayed drafts of a call, or why it could not run. */
function rerun(
  call: Call,
  context: unknown,
):
  | { recorded: unknown[]; replayed: unknown[]; digest: (draft: unknown) => string }
  | { refused: string } {
  const jcsDigest = (draft: unknown): string => digestOf(canonicalBytes(draft));
  try {
    if (isChannelCall(context)) {
      return {
        recorded: call.members.map((m) => channelDraftOf(m.record)),
        replayed: replayChannelCall(context),
        digest: jcsDigest,
      };
    }
    const recorded = call.members.map((m) => releaseDraftOf(m.record));
    if (recorded.some((draft) => draft === null)) {
      return { refused: 'the record is no release decision and its context no channel call' };
    }
    const replayed = replayCall({
      context: context as ReleaseContext,
      now: call.at,
      command: call.command,
    });
    return {
      recorded,
      replayed: namedAsRecorded(replayed, context, call.context),
      digest: (draft) => decisionDigest(draft as DecisionDraft),
    };
  } catch (error) {
    return {
      refused: isLockgateError(error)
        ? `${error.code}: ${error.message}`
        : `error: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

/**
 * The replayed drafts naming the context as the records do when that name is the context's too:
 * records decided before context heads name the whole context's digest, the current core its
 * head's (release/context-digest.ts); both are names of the same JSON.
 */
function namedAsRecorded(
  replayed: DecisionDraft[],
  context: unknown,
  recordedName: string,
): DecisionDraft[] {
  const renamed = replayed.some((draft) => draft.inputs['context'] !== recordedName);
  if (!renamed || !isContextNamed(context, recordedName)) return replayed;
  return replayed.map((draft) => ({
    ...draft,
    inputs: { ...draft.inputs, context: recordedName },
  }));
}

/** Replays one call; returns the mismatches of its records. */
function replayOne(call: Call, stored: ReplayContext | null): ReplayMismatch[] {
  if (stored === null) {
    return call.members.map((m) =>
      mismatch(m, { problem: 'context_missing', field: null, expected: call.context }, null),
    );
  }
  const { intact } = stored;
  const ran = rerun(call, stored.context);
  if ('refused' in ran) {
    return call.members.map((m) =>
      mismatch(m, { problem: 'refused', field: null, actual: ran.refused }, intact),
    );
  }
  const found: ReplayMismatch[] = [];
  for (const [i, member] of call.members.entries()) {
    const replayed = ran.replayed[i];
    const recorded = ran.recorded[i];
    if (replayed === undefined) {
      found.push(mismatch(member, { problem: 'decision_missing', field: null }, intact));
      continue;
    }
    if (ran.digest(replayed) === ran.digest(recorded)) continue;
    const difference = firstDifference(recorded, JSON.parse(JSON.stringify(replayed)), {
      lookPast: [CONTEXT_FIELD],
    });
    found.push(
      mismatch(
        member,
        {
          problem: 'field',
          field: difference?.path ?? null,
          ...(difference?.expected === undefined ? {} : { expected: difference.expected }),
          ...(difference?.actual === undefined ? {} : { actual: difference.actual }),
        },
        intact,
      ),
    );
  }
  const last = call.members.at(-1);
  if (ran.replayed.length > call.members.length && last !== undefined) {
    if (!found.some((m) => m.seq === last.record.seq)) {
      found.push(
        mismatch(
          last,
          {
            problem: 'decision_extra',
            field: null,
            expected: call.members.length,
            actual: ran.replayed.length,
          },
          intact,
        ),
      );
    }
  }
  return found;
}

/** Replays the records (in log order) on the current core (see the file header). */
export function replayRecords(
  records: readonly ReplayRecord[],
  contextOf: (digest: string) => ReplayContext | null,
): ReplayFigures {
  const { calls, skipped } = replayCallsOf(records);
  const mismatched: ReplayMismatch[] = [];
  let total = 0;
  for (const call of calls) {
    total += call.members.length;
    mismatched.push(...replayOne(call, contextOf(call.context)));
  }
  const mismatches = mismatched.length;
  const matching = total - mismatches;
  return {
    total,
    matching,
    mismatches,
    matchRate: total === 0 ? 1 : matching / total,
    mismatched,
    skipped,
  };
}

/**
 * Whether a context's JSON hashes to the digest it is named by (its head's, or its whole JCS
 * bytes': release/context-digest.ts).
 */
export function contextIntact(context: unknown, digest: string): boolean {
  return isContextNamed(context, digest);
}
