/**
 * Turns configuration results into the Markdown table of docs/judgment.md: false-rollback rates
 * of A/A runs with 95 % Wilson intervals, detection rates and samples to detection of regressions.
 */
import { JUDGES } from './judges.ts';
import type { JudgeName } from './judges.ts';
import type { ConfigurationResult } from './simulate.ts';

/** The 95 % Wilson score interval of k successes in n trials. */
export function wilson(k: number, n: number): [number, number] {
  if (n === 0) return [0, 1];
  const z = 1.959963984540054;
  const p = k / n;
  const denominator = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denominator;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/**
 * The q-quantile of samples to detection over all runs, a run never detected counting as
 * infinitely many samples; null (∞) when fewer than a fraction q of the runs detect.
 */
export function detectionQuantile(
  samples: readonly number[],
  runs: number,
  q: number,
): number | null {
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.ceil(q * runs) - 1;
  return index < sorted.length ? (sorted[Math.max(0, index)] as number) : null;
}

const percent = (x: number): string => `${(100 * x).toFixed(2)} %`;
const count = (x: number | null): string => (x === null ? '∞' : String(x));

export interface ModelLine {
  model: string;
  description: string;
}

export function renderTable(
  results: readonly ConfigurationResult[],
  metric: 'errors' | 'latency',
  models: readonly ModelLine[],
): string {
  const lines: string[] = [];
  const judges = JUDGES.filter((j) => metric === 'errors' || j !== 'fixed-0.05');
  lines.push(`| model | canary × | ${judges.join(' | ')} |`);
  lines.push(`| --- | --- | ${judges.map(() => '---').join(' | ')} |`);
  for (const { model } of models) {
    const rows = results
      .filter((r) => r.metric === metric && r.model === model)
      .sort((a, b) => a.factor - b.factor);
    for (const r of rows) {
      const cells = judges.map((name: JudgeName) => {
        const o = r.judges[name];
        const rate = o.rollbacks / r.runs;
        if (r.factor === 1) {
          const [lo, hi] = wilson(o.rollbacks, r.runs);
          return `${percent(rate)} (${percent(lo)}–${percent(hi)})`;
        }
        const median = detectionQuantile(o.samples, r.runs, 0.5);
        const p95 = detectionQuantile(o.samples, r.runs, 0.95);
        return `${percent(rate)}; ${count(median)} / ${count(p95)}`;
      });
      const label = r.factor === 1 ? `A/A (${r.runs} runs)` : `${r.factor} (${r.runs} runs)`;
      lines.push(`| ${model} | ${label} | ${cells.join(' | ')} |`);
    }
  }
  return lines.join('\n');
}
