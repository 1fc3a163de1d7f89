/**
 * A compare verdict in one sentence, for release status, the demo and decision reasons:
 *
 *   error rate 2.1x baseline (95% CI 1.6x–2.8x), p = 0.003: regression
 *   error rate +0.012 vs baseline (95% CI +0.004 to +0.02), p = 0.2: not decided yet
 *   error rate: 40 canary and 35 baseline requests, 100 needed on each side: not decided yet
 *
 * The interval is the running confidence sequence at 1 − α, the p-value the always-valid
 * p-value of "the canary is no worse" (compare-gate.ts). Pure.
 */
import type { CompareEvidence, CompareMetric } from './compare-gate.ts';

function metricWords(metric: CompareMetric, boundMs: number | null): string {
  switch (metric) {
    case 'error_rate':
      return 'error rate';
    case 'activation_failure_rate':
      return 'activation failure rate';
    default:
      return boundMs === null ? 'latency' : `requests slower than ${boundMs} ms`;
  }
}

function significant(x: number, digits: number): string {
  return Number(x.toPrecision(digits)).toString();
}

function ratio(x: number | null): string {
  return x === null ? '?' : `${significant(x, 2)}x`;
}

function difference(x: number | null): string {
  if (x === null) return '?';
  const text = significant(x, 2);
  return x > 0 ? `+${text}` : text;
}

/** The always-valid p-value as a human writes it: `p = 0.003`, `p < 0.0001`. */
export function pValueWords(p: number): string {
  if (p < 0.0001) return 'p < 0.0001';
  return `p = ${significant(p, p < 0.01 ? 1 : 2)}`;
}

function outcomeWords(evidence: CompareEvidence): string {
  if (evidence.verdict === 'fail') return 'regression';
  if (evidence.verdict === 'pass') {
    const m = evidence.margin;
    return 'relative' in m
      ? `no harm beyond ${significant(100 * m.relative, 3)}% worse`
      : `no harm beyond ${significant(m.absolute, 3)} worse`;
  }
  return 'not decided yet';
}

/** One sentence with the effect, its interval, the p-value and what they mean. */
export function compareInWords(evidence: CompareEvidence): string {
  const deciding = evidence.streams.find(
    (s) =>
      s.estimate === evidence.estimate && s.lower === evidence.lower && s.upper === evidence.upper,
  );
  const what = metricWords(evidence.metric, deciding?.boundMs ?? null);
  const outcome = outcomeWords(evidence);
  const { effect } = evidence;
  if (effect.estimate === null) {
    const { canary, baseline } = evidence.samples;
    const unit = evidence.metric === 'activation_failure_rate' ? 'activations' : 'requests';
    return `${what}: ${canary.requests} canary and ${baseline.requests} baseline ${unit}, ${evidence.minSamples} needed on each side: ${outcome}`;
  }
  const confidence = `${significant(100 * (1 - evidence.alpha), 3)}% CI`;
  const p = pValueWords(evidence.pValue);
  if (effect.scale === 'ratio') {
    return `${what} ${ratio(effect.estimate)} baseline (${confidence} ${ratio(effect.lower)}–${ratio(effect.upper)}), ${p}: ${outcome}`;
  }
  return `${what} ${difference(effect.estimate)} vs baseline (${confidence} ${difference(effect.lower)} to ${difference(effect.upper)}), ${p}: ${outcome}`;
}
