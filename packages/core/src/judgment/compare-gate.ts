/**
 * `compare` gates: the canary measured against a baseline of the same stage, one look at a time,
 * with a test that stays valid however often it is looked at (docs/adr/0008-sequential-canary-judgment.md).
 *
 * One look = `compareGate(spec, canary, baseline, prior)`:
 * - `canary` / `baseline` are this look's counts per target, as deltas since the previous look
 *   (`requests`, and `errors` for rate metrics or `slower[j]` = requests slower than
 *   `latencyBoundsMs[j]` for latency). A target whose counts are negative, not finite, or with
 *   more events than requests is ignored for this look and named in the reasons.
 * - `prior` is the `state` the previous look returned (`null` on the first look). The state holds
 *   the per-target running totals and, per tested quantity, the running confidence-sequence
 *   bounds and always-valid p-value; it is plain JSON so a look can be recorded and replayed.
 * - `history` (optional) is each target's totals from before the stage started, when both sides
 *   ran the base pack; the same at every look. With it (and ≥ minSamples history requests on each
 *   side), each side's events are measured against what its own targets' history expects
 *   (history-effect.ts, docs/adr/0017-canary-judgment-against-target-history.md): θ is the log of
 *   the canary's observed-over-expected events over the baseline's, which removes the persistent
 *   differences between the two sides' mix of targets and lets the baseline carry what changed
 *   for everyone since (the day, the hour). The evidence says what the history contributed
 *   (`history`: its requests and events per side, the expected events, the dispersion left).
 *   Without it every look is judged, and digested, exactly as before history existed.
 *
 * The tested quantity θ is, per stream (one for a rate metric, one per latency bound):
 * - relative margin: θ = ln(canary rate / baseline rate), estimated with ½ added to each side's
 *   events so a zero count has a finite logarithm; variance φ (1/(E_c + ½) + 1/(E_b + ½));
 * - absolute margin: θ = canary rate − baseline rate; variance φ (p_c(1−p_c)/N_c + p_b(1−p_b)/N_b).
 * (With history: see history-effect.ts for θ, its variance and φ measured around the expected
 * counts.)
 * φ ≥ 1 is the dispersion the counts show beyond independent requests: the larger of the spread
 * of the targets' running totals around their side's rate (persistent differences between
 * targets) and the spread of each look's per-target counts (bursts, look-to-look noise), each
 * divided by what independent requests would give. So a target that varies more than chance
 * allows widens the interval instead of deciding: one noisy target cannot carry the verdict.
 *
 * Verdict, per look (latency: α split evenly over the bounds, fail if any bound fails, pass only
 * if every bound passes):
 * - `fail`: the always-valid p-value of "canary no worse" (θ ≤ 0) is ≤ α — a regression shown;
 * - `pass`: both sides have ≥ minSamples requests and the always-valid p-value of "canary worse
 *   by the margin or more" (θ ≥ margin) is ≤ α — the harm ruled out (non-inferiority);
 * - `inconclusive` otherwise, and always while either side has fewer than minSamples requests.
 * Fail outranks pass. The p-values are running minima of one-sided normal-mixture likelihood
 * ratios (confidence-sequence.ts), so a shown verdict never flips back; the reported interval is
 * the running intersection of the two-sided (1 − α) confidence sequence.
 */
import { canonicalJson } from '../canonical-json.ts';
import { digestOf } from '../digest.ts';
import type { Digest } from '../digest.ts';
import { LockgateError } from '../errors.ts';
import { checkCompareGateSpec } from './compare-spec.ts';
import type { CompareGateSpec } from './compare-spec.ts';
import { mixtureBoundary } from './confidence-sequence.ts';
import { historyArm, historyEffect, historyPrior } from './history-effect.ts';
import type { HistoryArm, HistoryPrior } from './history-effect.ts';

export { COMPARE_METRICS, checkCompareGateSpec, compareGateProblems } from './compare-spec.ts';
export type { CompareGateSpec, CompareMargin, CompareMetric } from './compare-spec.ts';

export type {
  TargetCounts,
  ArmCounts,
  CompareHistory,
  HistorySideEvidence,
  HistoryEvidence,
  CompareStreamState,
  CompareGateState,
  CompareVerdict,
  ArmSummary,
  StreamEvidence,
  CompareEvidence,
  CompareGateResult,
} from './compare-types.ts';
import type {
  TargetCounts,
  ArmCounts,
  CompareHistory,
  CompareStreamState,
  CompareGateState,
  CompareVerdict,
  ArmSummary,
  StreamEvidence,
  CompareEvidence,
  CompareGateResult,
} from './compare-types.ts';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The state before the first look. */
export function initialCompareState(spec: CompareGateSpec): CompareGateState {
  const streams = spec.metric === 'latency' ? (spec.latencyBoundsMs ?? []).length : 1;
  return {
    looks: 0,
    canary: {},
    baseline: {},
    streams: Array.from({ length: streams }, () => ({
      lower: null,
      upper: null,
      pValue: 1,
      harmPValue: 1,
      lookSpread: 0,
      lookExpected: 0,
    })),
  };
}

function nonNegative(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/** [requests, events…] of one target's counts, or null when they are invalid. */
function eventsOf(counts: TargetCounts, spec: CompareGateSpec, streams: number): number[] | null {
  if (!isObject(counts) || !nonNegative(counts.requests)) return null;
  const out = [counts.requests];
  if (spec.metric === 'latency') {
    const slower = counts.slower;
    if (!Array.isArray(slower) || slower.length !== streams) return null;
    for (const s of slower) {
      if (!nonNegative(s) || s > counts.requests) return null;
      out.push(s);
    }
  } else {
    const errors = counts.errors ?? 0;
    if (!nonNegative(errors) || errors > counts.requests) return null;
    out.push(errors);
  }
  return out;
}

function accumulate(
  totals: Record<string, number[]>,
  look: ArmCounts,
  spec: CompareGateSpec,
  streams: number,
  side: string,
  reasons: string[],
): { totals: Record<string, number[]>; look: Record<string, number[]> } {
  const next: Record<string, number[]> = {};
  const valid: Record<string, number[]> = {};
  for (const id of Object.keys(totals).sort()) next[id] = [...(totals[id] as number[])];
  const ignored: string[] = [];
  for (const id of Object.keys(look).sort()) {
    const events = eventsOf(look[id] as TargetCounts, spec, streams);
    if (events === null) {
      ignored.push(id);
      continue;
    }
    valid[id] = events;
    const row = next[id] ?? new Array<number>(streams + 1).fill(0);
    for (let j = 0; j <= streams; j += 1) row[j] = (row[j] as number) + (events[j] as number);
    next[id] = row;
  }
  if (ignored.length > 0) {
    reasons.push(
      `${side}: invalid counts of ${ignored.length} target(s) ignored (${ignored.slice(0, 3).join(', ')})`,
    );
  }
  return { totals: next, look: valid };
}

interface ArmStats {
  summary: ArmSummary;
  /** Σ (e_i − R n_i)²: the spread of the targets' events around the side's pooled rate R */
  spread: number;
  /** Σ n_i² / N²: 1 / the effective number of targets */
  concentration: number;
}

/** Sums one stream of one side over its targets. */
function armStats(totals: Record<string, number[]>, stream: number): ArmStats {
  let requests = 0;
  let events = 0;
  let targets = 0;
  let squares = 0;
  const ids = Object.keys(totals).sort();
  for (const id of ids) {
    const row = totals[id] as number[];
    const n = row[0] as number;
    if (n <= 0) continue;
    requests += n;
    events += row[stream + 1] as number;
    targets += 1;
    squares += n * n;
  }
  const rate = requests > 0 ? events / requests : null;
  let spread = 0;
  if (rate !== null) {
    for (const id of ids) {
      const row = totals[id] as number[];
      const n = row[0] as number;
      if (n <= 0) continue;
      const d = (row[stream + 1] as number) - rate * n;
      spread += d * d;
    }
  }
  return {
    summary: { targets, requests, events, rate },
    spread,
    concentration: requests > 0 ? squares / (requests * requests) : 1,
  };
}

/**
 * The dispersion φ ≥ 1 of both sides pooled: Σ spread / Σ E (1 − Σn²/N²), which is 1 in
 * expectation when every request of a side fails independently at one rate (Poisson), and grows
 * with the between-target and look-to-look variation the counts show.
 */
function dispersion(c: ArmStats, b: ArmStats, looks: { spread: number; expected: number }): number {
  const expected =
    c.summary.events * (1 - c.concentration) + b.summary.events * (1 - b.concentration);
  const between = expected > 0 ? (c.spread + b.spread) / expected : 1;
  const within = looks.expected > 0 ? looks.spread / looks.expected : 1;
  return Math.max(1, between, within);
}

/** θ̂ and its variance on the statistic's scale. */
function effectOf(
  c: ArmStats,
  b: ArmStats,
  relative: boolean,
  looks: { spread: number; expected: number },
): { estimate: number; variance: number } {
  const phi = dispersion(c, b, looks);
  const ce = c.summary.events + 0.5;
  const be = b.summary.events + 0.5;
  const cn = Math.max(c.summary.requests, 1);
  const bn = Math.max(b.summary.requests, 1);
  if (relative) {
    return { estimate: Math.log(ce / cn) - Math.log(be / bn), variance: phi * (1 / ce + 1 / be) };
  }
  const cp = ce / (cn + 1);
  const bp = be / (bn + 1);
  return {
    estimate: c.summary.events / cn - b.summary.events / bn,
    variance: phi * ((cp * (1 - cp)) / cn + (bp * (1 - bp)) / bn),
  };
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

const E_VALUE_CAP = 1e300;

function words(x: number | null): string {
  if (x === null) return '–';
  return Number(x.toPrecision(3)).toString();
}

function historySide(arm: HistoryArm | null, totals: Record<string, number[]>, stream: number) {
  const summary = armStats(totals, stream).summary;
  return {
    targets: summary.targets,
    requests: summary.requests,
    events: summary.events,
    targetsWithHistory: arm?.targetsWithHistory ?? 0,
    expected: arm?.expected ?? null,
  };
}

/**
 * Judges one look of a compare gate. Pure and deterministic; never passes below minSamples.
 * `history` (optional): each target's totals from before the stage; without it the look is
 * judged exactly as before history existed.
 */
export function compareGate(
  spec: CompareGateSpec,
  canary: ArmCounts,
  baseline: ArmCounts,
  prior: CompareGateState | null,
  history?: CompareHistory,
): CompareGateResult {
  checkCompareGateSpec(spec);
  const start = prior ?? initialCompareState(spec);
  const streams = spec.metric === 'latency' ? (spec.latencyBoundsMs ?? []).length : 1;
  if (start.streams.length !== streams) {
    throw new LockgateError(
      'BAD_REQUEST',
      'The prior state belongs to a gate with other latency bounds.',
      {
        details: { streams: start.streams.length, expected: streams },
      },
    );
  }
  const reasons: string[] = [];
  const canaryLook = accumulate(start.canary, canary, spec, streams, 'canary', reasons);
  const baselineLook = accumulate(start.baseline, baseline, spec, streams, 'baseline', reasons);
  const canaryTotals = canaryLook.totals;
  const baselineTotals = baselineLook.totals;
  let past: { canary: Record<string, number[]>; baseline: Record<string, number[]> } | null = null;
  let historyUsed = false;
  if (history !== undefined) {
    const h = isObject(history) ? history : { canary: {}, baseline: {} };
    past = {
      canary: accumulate({}, h.canary ?? {}, spec, streams, 'canary history', reasons).totals,
      baseline: accumulate({}, h.baseline ?? {}, spec, streams, 'baseline history', reasons).totals,
    };
    const hc = armStats(past.canary, 0).summary.requests;
    const hb = armStats(past.baseline, 0).summary.requests;
    historyUsed = hc >= spec.minSamples && hb >= spec.minSamples;
    reasons.push(
      historyUsed
        ? `judged against the targets' history (${hc} canary and ${hb} baseline request(s) before the stage)`
        : `history too thin (${hc} canary and ${hb} baseline request(s), ${spec.minSamples} needed on each side): judged without it`,
    );
  }
  const relative = 'relative' in spec.margin;
  const marginTheta =
    'relative' in spec.margin ? Math.log(1 + spec.margin.relative) : spec.margin.absolute;
  const tau = spec.mixtureScale ?? ('absolute' in spec.margin ? 2 * spec.margin.absolute : 0.5);
  const alphaEach = spec.alpha / streams;
  const nextStreams: CompareStreamState[] = [];
  const evidenceStreams: StreamEvidence[] = [];
  let anyFail = false;
  let allPass = true;
  let enough = true;
  for (let s = 0; s < streams; s += 1) {
    const was = start.streams[s] as CompareStreamState;
    const c = armStats(canaryTotals, s);
    const b = armStats(baselineTotals, s);
    let { lower, upper, pValue, harmPValue } = was;
    const cl = armStats(canaryLook.look, s);
    const bl = armStats(baselineLook.look, s);
    const lookSpread = was.lookSpread + cl.spread + bl.spread;
    const lookExpected =
      was.lookExpected +
      cl.summary.events * (1 - cl.concentration) +
      bl.summary.events * (1 - bl.concentration);
    let estimate: number | null = null;
    let hc: HistoryArm | null = null;
    let hb: HistoryArm | null = null;
    let phi: number | null = null;
    // with history, each look's spread is measured around what the targets' history expects,
    // so persistent differences between targets are not counted as bursts; the prior's
    // dispersion is the one measured up to the previous look
    let prior: HistoryPrior | null = null;
    let historyLooks: { spread: number; expected: number } | null = null;
    if (past !== null && historyUsed) {
      const hs = was.historyLookSpread ?? 0;
      const he = was.historyLookExpected ?? 0;
      prior = historyPrior([past.canary, past.baseline], s, he > 0 ? Math.max(1, hs / he) : 1);
      const lc = historyArm(canaryLook.look, past.canary, s, prior);
      const lb = historyArm(baselineLook.look, past.baseline, s, prior);
      historyLooks = {
        spread: hs + lc.spread + lb.spread,
        expected: he + lc.spreadExpected + lb.spreadExpected,
      };
    }
    if (c.summary.requests >= spec.minSamples && b.summary.requests >= spec.minSamples) {
      const looks = { spread: lookSpread, expected: lookExpected };
      let effect: { estimate: number; variance: number };
      if (past !== null && prior !== null && historyLooks !== null) {
        hc = historyArm(canaryTotals, past.canary, s, prior);
        hb = historyArm(baselineTotals, past.baseline, s, prior);
        const withHistory = historyEffect(hc, hb, relative, historyLooks);
        phi = withHistory.dispersion;
        effect = withHistory;
      } else {
        effect = effectOf(c, b, relative, looks);
      }
      estimate = effect.estimate;
      const atZero = mixtureBoundary(estimate, effect.variance, 0, tau, alphaEach);
      const atMargin = mixtureBoundary(estimate, effect.variance, marginTheta, tau, alphaEach);
      const w = atZero.halfWidth;
      lower = lower === null ? estimate - w : Math.max(lower, estimate - w);
      upper = upper === null ? estimate + w : Math.min(upper, estimate + w);
      pValue = Math.min(pValue, Math.exp(-Math.max(0, atZero.logAbove)));
      harmPValue = Math.min(harmPValue, Math.exp(-Math.max(0, atMargin.logBelow)));
    } else {
      enough = false;
    }
    const fails = pValue <= alphaEach;
    const passes = estimate !== null && harmPValue <= alphaEach;
    anyFail ||= fails;
    allPass &&= passes;
    nextStreams.push({
      lower,
      upper,
      pValue,
      harmPValue,
      lookSpread,
      lookExpected,
      ...(historyLooks === null
        ? {}
        : { historyLookSpread: historyLooks.spread, historyLookExpected: historyLooks.expected }),
    });
    evidenceStreams.push({
      boundMs: spec.metric === 'latency' ? ((spec.latencyBoundsMs ?? [])[s] as number) : null,
      alpha: alphaEach,
      estimate,
      lower,
      upper,
      pValue,
      harmPValue,
      canary: c.summary,
      baseline: b.summary,
      ...(past === null
        ? {}
        : {
            history: {
              used: historyUsed,
              canary: historySide(hc, past.canary, s),
              baseline: historySide(hb, past.baseline, s),
              dispersion: phi,
            },
          }),
    });
  }
  const verdict: CompareVerdict = anyFail ? 'fail' : enough && allPass ? 'pass' : 'inconclusive';
  // the deciding stream: the one with the strongest evidence of a regression, then the least
  // evidence against harm
  let worst = 0;
  for (let s = 1; s < streams; s += 1) {
    const a = evidenceStreams[s] as StreamEvidence;
    const w = evidenceStreams[worst] as StreamEvidence;
    if (a.pValue < w.pValue || (a.pValue === w.pValue && a.harmPValue > w.harmPValue)) worst = s;
  }
  const top = evidenceStreams[worst] as StreamEvidence;
  const pValue = Math.min(1, Math.min(...nextStreams.map((x) => x.pValue)) * streams);
  const harmPValue = Math.min(1, Math.max(...nextStreams.map((x) => x.harmPValue)) * streams);
  const eValue = pValue === 0 ? E_VALUE_CAP : Math.min(E_VALUE_CAP, 1 / pValue);
  const toEffect = (x: number | null): number | null =>
    x === null ? null : relative ? finiteOrNull(Math.exp(x)) : x;
  const effect = {
    scale: relative ? ('ratio' as const) : ('difference' as const),
    estimate: toEffect(top.estimate),
    lower: toEffect(top.lower),
    upper: toEffect(top.upper),
  };
  if (!enough) {
    const c = top.canary.requests;
    const b = top.baseline.requests;
    reasons.push(`${c} canary and ${b} baseline sample(s), ${spec.minSamples} needed on each side`);
  }
  const scale = relative ? 'canary/baseline rate ratio' : 'canary − baseline rate difference';
  const where = top.boundMs === null ? '' : ` (requests slower than ${top.boundMs} ms)`;
  if (top.estimate !== null) {
    reasons.push(
      `${scale}${where} ${words(effect.estimate)}, ${words(100 * (1 - spec.alpha))}% confidence sequence ${words(effect.lower)} to ${words(effect.upper)}, always-valid p = ${words(pValue)}`,
    );
  }
  const marginWords =
    'relative' in spec.margin
      ? `${words(100 * spec.margin.relative)}% worse`
      : `${words(spec.margin.absolute)} worse`;
  if (verdict === 'fail') reasons.push(`regression shown at α = ${spec.alpha}`);
  else if (verdict === 'pass') reasons.push(`no harm beyond ${marginWords} at α = ${spec.alpha}`);
  else if (enough) reasons.push(`neither a regression nor harm below ${marginWords} shown yet`);
  const state: CompareGateState = {
    looks: start.looks + 1,
    canary: canaryTotals,
    baseline: baselineTotals,
    streams: nextStreams,
  };
  const evidence: CompareEvidence = {
    metric: spec.metric,
    verdict,
    statistic: relative ? 'log_rate_ratio' : 'rate_difference',
    estimate: top.estimate,
    lower: top.lower,
    upper: top.upper,
    effect,
    pValue,
    eValue,
    harmPValue,
    alpha: spec.alpha,
    margin: spec.margin,
    minSamples: spec.minSamples,
    mixtureScale: tau,
    looks: state.looks,
    samples: { canary: top.canary, baseline: top.baseline },
    streams: evidenceStreams,
    ...(top.history === undefined ? {} : { history: top.history }),
    reasons,
  };
  return { verdict, evidence, state };
}

/** The digest of one look: inputs and result, JCS-canonical. Replaying a look gives the same. */
export function compareLookDigest(
  spec: CompareGateSpec,
  canary: ArmCounts,
  baseline: ArmCounts,
  prior: CompareGateState | null,
  result: CompareGateResult,
  history?: CompareHistory,
): Digest {
  const look = { spec, canary, baseline, prior, result };
  return digestOf(canonicalJson(history === undefined ? look : { ...look, history }));
}
