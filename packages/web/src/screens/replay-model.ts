/** Words for replays: the pre-filled reason, the match rate, a mismatch, one verdict's result. */
import type { DecisionRecordView, ReplayMismatchView, ReplayView } from '@lockgate/api';

/** The reason a replay form starts with: for the release, or for the verdict chosen. */
export function replayReason(release: string, chosen: DecisionRecordView | null): string {
  return chosen === null
    ? `verify the decisions of release ${release}`
    : `verify verdict #${chosen.seq} (${chosen.rule}) of release ${release}`;
}

/** `100 % (12 of 12)`. */
export function matchRateWords(replay: ReplayView): string {
  const percent = Math.round(replay.matchRate * 1000) / 10;
  return `${percent} % (${replay.matching} of ${replay.total})`;
}

function value(v: unknown): string {
  return v === undefined ? '—' : JSON.stringify(v);
}

/** What differs, in words: `inputs.gates[0].threshold recorded 0.05, replayed 0.06`. */
export function mismatchWords(m: ReplayMismatchView): string {
  switch (m.problem) {
    case 'field':
      return `${m.field ?? 'the draft'} recorded ${value(m.expected)}, replayed ${value(m.actual)}`;
    case 'context_missing':
      return 'no context is stored under the digest the record names';
    case 'refused':
      return `the current core refused the call: ${value(m.actual)}`;
    case 'decision_missing':
      return `the replay made fewer decisions (recorded ${value(m.expected)}, replayed ${value(m.actual)})`;
    case 'decision_extra':
      return `the replay made more decisions (recorded ${value(m.expected)}, replayed ${value(m.actual)})`;
  }
}

/** How record `seq` fared in `replay`: matched, mismatched (and why), or not replayed. */
export function verdictInReplay(
  replay: ReplayView,
  record: Pick<DecisionRecordView, 'seq' | 'at'>,
): string {
  const { seq } = record;
  if (Date.parse(record.at) > Date.parse(replay.createdAt)) return 'recorded after that replay';
  const mismatch = replay.mismatched.find((m) => m.seq === seq);
  if (mismatch !== undefined) return `mismatch: ${mismatchWords(mismatch)}`;
  const skipped = replay.skipped.find((s) => s.seq === seq);
  if (skipped !== undefined) return `not replayed (${skipped.why})`;
  if (replay.status === 'failed') return 'the replay could not run';
  return 'matches';
}
