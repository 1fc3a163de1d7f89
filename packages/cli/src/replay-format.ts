/**
 * How `lockgate release replay` and the demo print a replay: one line of figures
 * ("12 decisions, 12 matching, 0 mismatches, match rate 100 %"), then one line per mismatch
 * naming the record and the first differing field with both values.
 */
import type { ReplayMismatchView, ReplayView } from '@lockgate/api';

/** `100 %`, `91.7 %`, `0 %`: whole when exact, else one decimal (never rounded up to 100). */
export function formatMatchRate(rate: number): string {
  // Tenths of a percent, rounded first at a finer step so 0.29 is not taken for 28.999…
  const tenths = Math.floor(Math.round(rate * 1e7) / 1e4);
  return tenths % 10 === 0 ? `${tenths / 10} %` : `${(tenths / 10).toFixed(1)} %`;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** "12 decisions, 12 matching, 0 mismatches, match rate 100 %" */
export function replayFigures(
  replay: Pick<ReplayView, 'total' | 'matching' | 'mismatches' | 'matchRate'>,
): string {
  return `${plural(replay.total, 'decision', 'decisions')}, ${replay.matching} matching, ${plural(
    replay.mismatches,
    'mismatch',
    'mismatches',
  )}, match rate ${formatMatchRate(replay.matchRate)}`;
}

function valueText(value: unknown): string {
  return value === undefined ? '(absent)' : JSON.stringify(value);
}

/** One mismatch as a sentence. */
export function formatMismatch(mismatch: ReplayMismatchView): string {
  const where = `record ${mismatch.seq} (${mismatch.rule})`;
  const edited = mismatch.contextIntact === false ? '; the stored context was changed' : '';
  switch (mismatch.problem) {
    case 'field':
      return `${where}: ${mismatch.field ?? '?'} recorded ${valueText(mismatch.expected)}, replayed ${valueText(mismatch.actual)}${edited}`;
    case 'context_missing':
      return `${where}: no context is stored under ${valueText(mismatch.expected)}`;
    case 'refused':
      return `${where}: the current core refused it: ${String(mismatch.actual)}${edited}`;
    case 'decision_missing':
      return `${where}: the replay made no decision for it${edited}`;
    case 'decision_extra':
      return `${where}: the replay made ${valueText(mismatch.actual)} decisions where ${valueText(mismatch.expected)} were recorded${edited}`;
  }
}

/** The whole replay: header, figures, mismatches and the records left out. */
export function formatReplay(replay: ReplayView): string {
  const lines = [
    `replay ${replay.id} of release ${replay.release} on core ${replay.coreVersion}: ${replay.status}`,
  ];
  if (replay.error !== null) lines.push(`  error: ${replay.error}`);
  lines.push(`  ${replayFigures(replay)}`);
  for (const mismatch of replay.mismatched) lines.push(`  mismatch at ${formatMismatch(mismatch)}`);
  if (replay.skipped.length > 0) {
    lines.push(
      `  not replayed: ${replay.skipped.map((s) => `record ${s.seq} (${s.rule}: ${s.why})`).join(', ')}`,
    );
  }
  return lines.join('\n');
}
