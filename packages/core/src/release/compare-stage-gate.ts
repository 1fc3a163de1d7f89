/**
 * A `compare` gate of a started stage: the canary's reports against the baseline's, judged look
 * by look with `compareGate` (judgment/compare-gate.ts).
 *
 * The sequential state is never stored: every evaluation recomputes it from the reports of the
 * stage so far, so a verdict is a pure function of the context and replays from it.
 * - Sides: the canary is the stage's targets reporting the release's pack as active; the
 *   baseline is the stage's baseline members (stage-baseline.ts) reporting the channel's base.
 * - Looks: the time since the stage started is cut into consecutive looks of `windowSeconds`
 *   (longer when the stage has run more than MAX_LOOKS windows, so a look is at least
 *   elapsed / MAX_LOOKS), each look holds the reports whose `at` falls in it, the last look
 *   ends at `now`. A report made at the stage's start is left out (its deltas cover the time
 *   before it). Looks without reports on either side are skipped.
 * - Counts per target and look are the sums of the reports' deltas: `error_rate` reads
 *   `health.requests` / `health.errors`; `activation_failure_rate` reads activation attempts of
 *   the side's pack (each (target, attempt time) once, in the look of the first report carrying
 *   it); `latency` reads `health.requests` and, per bound B of `latencyBoundsMs`, the signal
 *   `slower_than_ms:B` (requests slower than B ms). A report with counts that are negative, not
 *   finite, or more events than requests is left out and counted in the reasons.
 * - History (a gate with `historySeconds`): the reports of the stage's members (canary and
 *   baseline alike) made in the `historySeconds` before the stage started, while they ran the
 *   channel's base pack, summed per target, are `compareGate`'s history, the same at every look:
 *   each side is then measured against what its own targets did before
 *   (docs/adr/0017-canary-judgment-against-target-history.md). A report made at the stage's start
 *   belongs to the history. The reader must load reports from that far back (the server widens its
 *   report window by `historySeconds` when the stage has such a gate).
 * The result carries the last look (its counts, the state before it, and the history) and the
 * look's digest (`compareLookDigest`): `compareGate` on them gives the same verdict and digest
 * again.
 */
import { compareGate, compareLookDigest } from '../judgment/compare-gate.ts';
import type {
  ArmCounts,
  CompareEvidence,
  CompareGateSpec,
  CompareGateState,
  CompareHistory,
  TargetCounts,
} from '../judgment/compare-gate.ts';
import type { GatePolicy } from './gate-policy.ts';
import type { HealthGateResult, TargetReport } from './health-gate.ts';
import { parseTime } from './instant.ts';

/** Most looks one evaluation makes; a longer stage gets longer looks. */
export const MAX_LOOKS = 240;

/** A compare gate as a stage declares it. */
export type CompareStageGate = CompareGateSpec & GatePolicy;

export function isCompareGate(value: unknown): value is CompareStageGate {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<string, unknown>).kind === 'compare'
  );
}

/** The last look of a compare evaluation, enough to replay it with `compareGate`. */
export interface CompareLook {
  /** the gate as compareGate reads it (without mode and onFail) */
  spec: CompareGateSpec;
  index: number;
  from: string;
  to: string;
  canary: ArmCounts;
  baseline: ArmCounts;
  prior: CompareGateState | null;
  /** the members' pre-stage totals; present when the gate has `historySeconds` */
  history?: CompareHistory;
}

/** What a compare gate adds to its HealthGateResult. */
export interface CompareGateRecord {
  metric: CompareGateSpec['metric'];
  evidence: CompareEvidence;
  /** baseline members and how many of them report the base pack in the stage */
  baseline: { members: number; reporting: number; pack: string | null };
  looks: number;
  lookSeconds: number;
  /** the last look; absent in views that drop it for size */
  look?: CompareLook;
  /** compareLookDigest of the last look; null before any look */
  digest: string | null;
}

export interface CompareStageInput {
  reports: readonly TargetReport[];
  canaryTargets: readonly string[];
  canaryPack: string;
  baselineTargets: readonly string[];
  basePack: string | null;
  stageStartedAt: string;
  now: string;
}

function eventsOf(
  spec: CompareGateSpec,
  report: TargetReport,
  pack: string,
  seenAttempts: Set<string>,
): TargetCounts | null | 'invalid' {
  if (spec.metric === 'activation_failure_rate') {
    const a = report.lastAttempt;
    if (a === undefined || a.kind !== 'activate' || a.pack !== pack) return null;
    const key = `${report.targetId}\n${a.at}`;
    if (seenAttempts.has(key)) return null;
    seenAttempts.add(key);
    return { requests: 1, errors: a.result === 'failed' ? 1 : 0 };
  }
  if (report.activePack !== pack || report.health === undefined) return null;
  const h = report.health;
  if (h.requests === undefined) return null;
  const ok = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
  if (!ok(h.requests)) return 'invalid';
  if (spec.metric === 'error_rate') {
    const errors = h.errors ?? 0;
    if (!ok(errors) || errors > h.requests) return 'invalid';
    return { requests: h.requests, errors };
  }
  const slower: number[] = [];
  for (const boundMs of spec.latencyBoundsMs ?? []) {
    const value = h.signals?.[`slower_than_ms:${boundMs}`];
    if (value === undefined) return null;
    if (!ok(value) || value > h.requests) return 'invalid';
    slower.push(value);
  }
  return { requests: h.requests, slower };
}

function add(into: Record<string, TargetCounts>, id: string, counts: TargetCounts): void {
  const was = into[id];
  if (was === undefined) {
    into[id] = {
      requests: counts.requests,
      ...(counts.errors === undefined ? {} : { errors: counts.errors }),
      ...(counts.slower === undefined ? {} : { slower: [...counts.slower] }),
    };
    return;
  }
  was.requests += counts.requests;
  if (counts.errors !== undefined) was.errors = (was.errors ?? 0) + counts.errors;
  if (counts.slower !== undefined && was.slower !== undefined) {
    was.slower = was.slower.map((s, j) => s + (counts.slower?.[j] ?? 0));
  }
}

/** Evaluates a compare gate on the stage's reports; pure, recomputed from the reports. */
export function evaluateCompareStageGate(
  spec: CompareStageGate,
  input: CompareStageInput,
): HealthGateResult & { compare: CompareGateRecord } {
  const { mode: _mode, onFail: _onFail, ...judged } = spec;
  const gate: CompareGateSpec = judged;
  const start = parseTime(input.stageStartedAt) ?? 0;
  const end = parseTime(input.now) ?? start;
  const elapsed = Math.max(0, end - start);
  const windowMs = gate.windowSeconds * 1000;
  const lookMs = Math.max(windowMs, Math.ceil(elapsed / MAX_LOOKS / 1000) * 1000);
  const lastIndex = Math.floor(elapsed / lookMs);
  const canaryIds = new Set(input.canaryTargets);
  const baselineIds = new Set(input.baselineTargets);
  const looks = new Map<
    number,
    { canary: Record<string, TargetCounts>; baseline: Record<string, TargetCounts> }
  >();
  const seen = new Set<string>();
  const reporting = new Set<string>();
  let invalid = 0;
  const sorted = [...input.reports].sort(
    (a, b) =>
      (parseTime(a.at) ?? 0) - (parseTime(b.at) ?? 0) ||
      (a.targetId < b.targetId ? -1 : a.targetId > b.targetId ? 1 : 0),
  );
  for (const report of sorted) {
    const at = parseTime(report.at);
    // a report's deltas cover the time before its `at`: one made when the stage started is older
    if (at === null || at <= start || at > end) continue;
    const side = canaryIds.has(report.targetId)
      ? 'canary'
      : baselineIds.has(report.targetId)
        ? 'baseline'
        : null;
    if (side === null) continue;
    const pack = side === 'canary' ? input.canaryPack : input.basePack;
    if (pack === null) continue;
    const counts = eventsOf(gate, report, pack, seen);
    if (counts === null) continue;
    if (counts === 'invalid') {
      invalid += 1;
      continue;
    }
    if (side === 'baseline') reporting.add(report.targetId);
    const index = Math.min(lastIndex, Math.floor((at - start) / lookMs));
    const look = looks.get(index) ?? { canary: {}, baseline: {} };
    add(look[side], report.targetId, counts);
    looks.set(index, look);
  }
  let history: CompareHistory | undefined;
  if (gate.historySeconds !== undefined) {
    const past = {
      canary: {} as Record<string, TargetCounts>,
      baseline: {} as Record<string, TargetCounts>,
    };
    const from = start - gate.historySeconds * 1000;
    const seenBefore = new Set<string>();
    for (const report of sorted) {
      const at = parseTime(report.at);
      if (at === null || at <= from || at > start || input.basePack === null) continue;
      const side = canaryIds.has(report.targetId)
        ? 'canary'
        : baselineIds.has(report.targetId)
          ? 'baseline'
          : null;
      if (side === null) continue;
      const counts = eventsOf(gate, report, input.basePack, seenBefore);
      if (counts === null) continue;
      if (counts === 'invalid') {
        invalid += 1;
        continue;
      }
      add(past[side], report.targetId, counts);
    }
    history = past;
  }
  let state: CompareGateState | null = null;
  let last: CompareLook | undefined;
  let result = compareGate(gate, {}, {}, null, history);
  let count = 0;
  for (const index of [...looks.keys()].sort((a, b) => a - b)) {
    const look = looks.get(index) as { canary: ArmCounts; baseline: ArmCounts };
    const prior = state;
    result = compareGate(gate, look.canary, look.baseline, prior, history);
    last = {
      spec: gate,
      index,
      from: new Date(start + index * lookMs).toISOString(),
      to: new Date(Math.min(end, start + (index + 1) * lookMs)).toISOString(),
      canary: look.canary,
      baseline: look.baseline,
      prior,
      ...(history === undefined ? {} : { history }),
    };
    state = result.state;
    count += 1;
  }
  const evidence = result.evidence;
  const reasons = [...evidence.reasons];
  if (invalid > 0) reasons.unshift(`${invalid} report(s) with invalid counts left out`);
  if (input.basePack === null) reasons.unshift('the channel has no base pack to compare with');
  if (input.baselineTargets.length === 0) reasons.unshift('the stage has no baseline target');
  if (count === 0) reasons.unshift(`no report for ${gate.metric} since the stage started`);
  const margin = 'relative' in gate.margin ? 1 + gate.margin.relative : gate.margin.absolute;
  return {
    metric: gate.metric,
    kind: 'compare',
    verdict: result.verdict,
    measured: evidence.effect.estimate,
    threshold: margin,
    op: '<=',
    targets: evidence.samples.canary.targets,
    samples: evidence.samples.canary.requests,
    reasons,
    compare: {
      metric: gate.metric,
      evidence,
      baseline: {
        members: input.baselineTargets.length,
        reporting: reporting.size,
        pack: input.basePack,
      },
      looks: count,
      lookSeconds: lookMs / 1000,
      ...(last === undefined ? {} : { look: last }),
      digest:
        last === undefined
          ? null
          : compareLookDigest(gate, last.canary, last.baseline, last.prior, result, history),
    },
  };
}
