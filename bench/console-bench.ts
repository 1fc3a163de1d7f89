/**
 * Console responsiveness (issue 10, "Fast"): how long the Releases screen takes to show 1,000
 * releases and the Deploy Stage targets table 10,000 targets (paged from the API, virtualized),
 * rendered by React in jsdom, against a plain React table of the same row count measured in the
 * same run. Prints figures and ratios; not a test (no timing assertion anywhere).
 *
 *   node bench/console-bench.ts [--runs 5]
 */
import { createServer } from 'vite';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;

/** The part of jsdom used here (the package ships no types). */
interface JsdomWindow {
  sessionStorage: unknown;
  [key: string]: unknown;
}
// jsdom comes with the console's test tools and ships no types: imported by name, typed here.
const JSDOM_MODULE = 'jsdom';
const { JSDOM } = (await import(JSDOM_MODULE)) as {
  JSDOM: new (html: string, options: object) => { window: JsdomWindow };
};

const dom = new JSDOM('<!doctype html><html><body></body></html>', {
  url: 'http://127.0.0.1/releases',
  pretendToBeVisual: true,
});
const g = globalThis as Record<string, unknown>;
for (const key of ['window', 'document', 'navigator', 'HTMLElement', 'Node', 'MutationObserver']) {
  if (!(key in g) || key === 'navigator') {
    Object.defineProperty(g, key, {
      value: dom.window[key],
      configurable: true,
      writable: true,
    });
  }
}
g['IS_REACT_ACT_ENVIRONMENT'] = true;
// The screens' own polls update state outside act(); React says so on every one. Not a test here.
const consoleError = console.error.bind(console);
console.error = (...args: unknown[]): void => {
  if (typeof args[0] === 'string' && args[0].includes('not wrapped in act')) return;
  consoleError(...args);
};
g['requestAnimationFrame'] = (cb: (t: number) => void) => setTimeout(() => cb(Date.now()), 0);
g['cancelAnimationFrame'] = (id: number) => clearTimeout(id);
g['sessionStorage'] = dom.window.sessionStorage;

const vite = await createServer({
  root: new URL('../packages/web/', import.meta.url).pathname,
  configFile: false,
  logLevel: 'error',
  server: { middlewareMode: true, hmr: false, ws: false },
  appType: 'custom',
  optimizeDeps: { noDiscovery: true, include: [] },
});

interface Entry {
  releasesList(n: number): Promise<{ ms: number; rows: number }>;
  targetsTable(n: number): Promise<{ load: number; sort: number; rows: number }>;
  plainTable(n: number): Promise<number>;
}
const entry = (await vite.ssrLoadModule(
  new URL('../packages/web/bench/render-entry.tsx', import.meta.url).pathname,
)) as Entry;

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};
const ms = (value: number): string => `${value.toFixed(1)} ms`;

// One warm-up of each, then RUNS measured.
await entry.plainTable(1000);
await entry.releasesList(1000);
await entry.targetsTable(10_000);

const plain1k: number[] = [];
const releases: number[] = [];
const targetsLoad: number[] = [];
const targetsSort: number[] = [];
let rows = 0;
let releaseRows = 0;
for (let i = 0; i < RUNS; i += 1) {
  plain1k.push(await entry.plainTable(1000));
  const r = await entry.releasesList(1000);
  releases.push(r.ms);
  releaseRows = r.rows;
  const t = await entry.targetsTable(10_000);
  targetsLoad.push(t.load);
  targetsSort.push(t.sort);
  rows = t.rows;
}
const base = median(plain1k);
console.log(`console bench, jsdom, median of ${RUNS} runs (Node ${process.version})`);
console.log(`  baseline: plain React table, 1,000 rows      ${ms(base)}`);
console.log(
  `  Releases screen, 1,000 releases             ${ms(median(releases))}  (${(median(releases) / base).toFixed(2)}× baseline; ${releaseRows} rows in the DOM)`,
);
console.log(
  `  Deploy Stage targets, 10,000 targets        ${ms(median(targetsLoad))}  (${(median(targetsLoad) / base).toFixed(2)}× baseline; ${rows} rows in the DOM, virtualized; 10 API pages)`,
);
console.log(
  `  ... sort 10,000 targets and redraw          ${ms(median(targetsSort))}  (${(median(targetsSort) / base).toFixed(2)}× baseline)`,
);
await vite.close();
