/**
 * Replays every decision of a release on the current core: each record of the release that core
 * `decide` or `applyCommand` drafted names the digest of its context (`inputs.context`); its call
 * is run again on the stored context at the record's time (`at`), with the operator command
 * rebuilt from the record, and each replayed draft's digest is compared with the recorded one.
 *
 * Invariants: reads only (the decision log and the stored contexts); records of one call — one
 * `decide` of a controller tick may write several, in order — are replayed by one call and
 * compared in order; a record that does not replay to its digest is a mismatch that names the
 * first differing field (the context digest `inputs.context` only when nothing else differs) or
 * why there was nothing to compare; records that are not core release decisions
 * (`release.create`), or were written before contexts were kept (no core version), are listed as
 * skipped and are not in the figures.
 */
import {
  commandOfDraft,
  decisionDigest,
  firstDifference,
  isLockgateError,
  replayCall,
} from '@lockgate/core';
import type { DecisionDraft, ReleaseCommand, ReleaseContext } from '@lockgate/core';
import type { StoresOf } from '../../stores.ts';
import { draftOf } from '../decisions/public.ts';
import type { DecisionRecord } from '../decisions/public.ts';
import type { StoredDecisionContext } from './decision-context-store.ts';
import type { ReplayMismatch, ReplayResult, ReplaySkipped } from './replay-store.ts';

/** The most records of one release a replay reads. */
export const REPLAY_RECORD_LIMIT = 100_000;

/** The field every draft of a context carries and that differs whenever the context does. */
const CONTEXT_FIELD = 'inputs.context';

interface Replayable {
  record: DecisionRecord;
  draft: DecisionDraft;
  context: string;
}

/** One call of core: its records, in log order. */
interface Call {
  context: string;
  at: string;
  command: ReleaseCommand | null;
  members: Replayable[];
}

/** Splits a release's records into the calls to replay and the records skipped. */
export function callsOf(records: readonly DecisionRecord[]): {
  calls: Call[];
  skipped: ReplaySkipped[];
} {
  const calls: Call[] = [];
  const skipped: ReplaySkipped[] = [];
  for (const record of records) {
    const draft = draftOf(record);
    const context = record.inputs['context'];
    if (draft === null || typeof context !== 'string') {
      skipped.push({ seq: record.seq, rule: record.rule, why: 'not a core release decision' });
      continue;
    }
    if (record.coreVersion === null) {
      skipped.push({
        seq: record.seq,
        rule: record.rule,
        why: 'recorded before decision contexts were kept',
      });
      continue;
    }
    const command = commandOfDraft(draft);
    const last = calls.at(-1);
    const member = { record, draft, context };
    // A tick's decide writes consecutive records with one context and time; a command one.
    if (
      last !== undefined &&
      command === null &&
      last.command === null &&
      last.context === context &&
      last.at === draft.at
    ) {
      last.members.push(member);
    } else {
      calls.push({ context, at: draft.at, command, members: [member] });
    }
  }
  return { calls, skipped };
}

function mismatch(
  member: Replayable,
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

/** Replays one call; returns the mismatches of its records. */
function replayOne(call: Call, stored: StoredDecisionContext | null): ReplayMismatch[] {
  if (stored === null) {
    return call.members.map((m) =>
      mismatch(m, { problem: 'context_missing', field: null, expected: call.context }, null),
    );
  }
  const { intact } = stored;
  let drafts: DecisionDraft[];
  try {
    drafts = replayCall({
      context: stored.context as ReleaseContext,
      now: call.at,
      command: call.command,
    });
  } catch (error) {
    const actual = isLockgateError(error)
      ? `${error.code}: ${error.message}`
      : `error: ${error instanceof Error ? error.message : String(error)}`;
    return call.members.map((m) =>
      mismatch(m, { problem: 'refused', field: null, actual }, intact),
    );
  }
  const found: ReplayMismatch[] = [];
  for (const [i, member] of call.members.entries()) {
    const replayed = drafts[i];
    if (replayed === undefined) {
      found.push(mismatch(member, { problem: 'decision_missing', field: null }, intact));
      continue;
    }
    if (decisionDigest(replayed) === decisionDigest(member.draft)) continue;
    const difference = firstDifference(member.draft, JSON.parse(JSON.stringify(replayed)), {
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
  if (drafts.length > call.members.length && last !== undefined) {
    if (!found.some((m) => m.seq === last.record.seq)) {
      found.push(
        mismatch(
          last,
          {
            problem: 'decision_extra',
            field: null,
            expected: call.members.length,
            actual: drafts.length,
          },
          intact,
        ),
      );
    }
  }
  return found;
}

/** Replays every decision of the release (see the file header) and counts the figures. */
export async function replayRelease(
  stores: StoresOf<'decisions' | 'contexts'>,
  release: string,
): Promise<ReplayResult> {
  const records = await stores.decisions.list({ release, limit: REPLAY_RECORD_LIMIT });
  const { calls, skipped } = callsOf(records);
  const contexts = new Map<string, StoredDecisionContext | null>();
  const mismatched: ReplayMismatch[] = [];
  let total = 0;
  for (const call of calls) {
    if (!contexts.has(call.context))
      contexts.set(call.context, await stores.contexts.get(call.context));
    total += call.members.length;
    mismatched.push(...replayOne(call, contexts.get(call.context) ?? null));
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
    error: null,
  };
}
