/**
 * Prometheus health gates: a PromQL query of the stage's scope compared with a threshold.
 *
 * The shell (the server's controller) renders the query with `renderGateQuery`, asks Prometheus,
 * and passes the answers in the release context; this module only judges recorded answers, so a
 * verdict replays from the decision's inputs.
 *
 * Template variables, each replaced everywhere it appears in the query:
 * `{{release}}`, `{{pack}}`, `{{env}}`, `{{channel}}`, `{{window}}` (the gate's window as `300s`)
 * and `{{targets}}`, the stage's target ids as an anchored alternation (`t\\.1|t-2`), escaped for
 * use inside a double-quoted PromQL string (`target=~"{{targets}}"`).
 *
 * Verdict: no answer for the rendered query, an error answer, an empty result, a value that is
 * not a finite number, or a query naming `{{targets}}` while the stage has none → `inconclusive`
 * (never `pass`). Otherwise every series must satisfy `value op threshold`: the measured value
 * is the worst series (the largest for `<`/`<=`, the smallest for `>`/`>=`).
 */
import type { GateOperator, HealthGateResult } from './health-gate.ts';
import { GATE_OPERATORS } from './health-gate.ts';

export interface PrometheusGateSpec {
  provider: 'prometheus';
  /** PromQL, with template variables (see the file header) */
  query: string;
  op: GateOperator;
  threshold: number;
  /** the window the query reads, offered as `{{window}}`; also bounds the reports kept */
  windowSeconds: number;
}

/** One series of an instant-vector or scalar answer; the value as Prometheus wrote it. */
export interface PrometheusSeries {
  labels: Record<string, string>;
  value: string;
}

/** What Prometheus answered to one rendered query at one time, as recorded for replay. */
export interface PrometheusAnswer {
  query: string;
  /** the evaluation time asked for (ISO 8601) */
  at: string;
  status: 'success' | 'error';
  series: PrometheusSeries[];
  /** for status `error`: why (HTTP failure, PromQL error, unreachable) */
  error?: string;
}

/** The stage a gate judges. */
export interface GateScope {
  release: string;
  pack: string;
  env: string;
  channel: string;
  targets: readonly string[];
}

export const MAX_PROMETHEUS_QUERY_LENGTH = 4096;

const VARIABLES = ['release', 'pack', 'env', 'channel', 'targets', 'window'] as const;

export function isPrometheusGate(value: unknown): value is PrometheusGateSpec {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<string, unknown>).provider === 'prometheus'
  );
}

/** Problems of an unknown value as a PrometheusGateSpec; empty when valid. */
export function prometheusGateProblems(value: unknown, path = 'gate'): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return [`${path} must be an object`];
  }
  const gate = value as Record<string, unknown>;
  const problems: string[] = [];
  const fields = ['provider', 'query', 'op', 'threshold', 'windowSeconds'];
  for (const field of Object.keys(gate)) {
    if (!fields.includes(field)) problems.push(`${path}.${field} is not a prometheus gate field`);
  }
  if (gate.provider !== 'prometheus') problems.push(`${path}.provider must be prometheus`);
  if (
    typeof gate.query !== 'string' ||
    gate.query.trim() === '' ||
    gate.query.length > MAX_PROMETHEUS_QUERY_LENGTH
  ) {
    problems.push(
      `${path}.query must be a PromQL expression of 1 to ${MAX_PROMETHEUS_QUERY_LENGTH} characters`,
    );
  } else {
    for (const match of gate.query.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)) {
      if (!(VARIABLES as readonly string[]).includes(match[1] ?? '')) {
        problems.push(
          `${path}.query names {{${match[1]}}}, which is not one of ${VARIABLES.map((v) => `{{${v}}}`).join(', ')}`,
        );
      }
    }
  }
  if (typeof gate.op !== 'string' || !(GATE_OPERATORS as readonly string[]).includes(gate.op)) {
    problems.push(`${path}.op must be one of ${GATE_OPERATORS.join(' ')}`);
  }
  if (typeof gate.threshold !== 'number' || !Number.isFinite(gate.threshold)) {
    problems.push(`${path}.threshold must be a finite number`);
  }
  if (!Number.isSafeInteger(gate.windowSeconds) || (gate.windowSeconds as number) <= 0) {
    problems.push(`${path}.windowSeconds must be a positive integer`);
  }
  return problems;
}

/** A target id as a regex alternative inside a double-quoted PromQL string. */
function targetPattern(id: string): string {
  return id
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"');
}

/** A label value inside a double-quoted PromQL string. */
function quoted(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/**
 * The query to ask for this scope, or null when it names `{{targets}}` and the stage has no
 * targets (a regex of no ids would match every series without the label).
 */
export function renderGateQuery(spec: PrometheusGateSpec, scope: GateScope): string | null {
  let needsTargets = false;
  const rendered = spec.query.replace(/\{\{\s*([a-z]+)\s*\}\}/g, (whole, name: string) => {
    switch (name) {
      case 'release':
        return quoted(scope.release);
      case 'pack':
        return quoted(scope.pack);
      case 'env':
        return quoted(scope.env);
      case 'channel':
        return quoted(scope.channel);
      case 'window':
        return `${spec.windowSeconds}s`;
      case 'targets':
        needsTargets = true;
        return [...scope.targets].sort().map(targetPattern).join('|');
      default:
        return whole;
    }
  });
  return needsTargets && scope.targets.length === 0 ? null : rendered;
}

function holds(measured: number, op: GateOperator, threshold: number): boolean {
  switch (op) {
    case '<=':
      return measured <= threshold;
    case '<':
      return measured < threshold;
    case '>=':
      return measured >= threshold;
    case '>':
      return measured > threshold;
    default:
      return false;
  }
}

/** Judges a prometheus gate on the recorded answers. Pure; never passes without data. */
export function evaluatePrometheusGate(
  spec: PrometheusGateSpec,
  scope: GateScope,
  answers: readonly PrometheusAnswer[],
): HealthGateResult {
  const query = renderGateQuery(spec, scope);
  const answer = query === null ? undefined : answers.find((a) => a.query === query);
  const result = (
    verdict: HealthGateResult['verdict'],
    measured: number | null,
    reasons: string[],
  ): HealthGateResult => ({
    metric: 'prometheus',
    verdict,
    measured,
    threshold: spec.threshold,
    op: spec.op,
    targets: scope.targets.length,
    samples: answer?.series.length ?? 0,
    reasons,
    provider: 'prometheus',
    query: query ?? spec.query,
    ...(answer === undefined
      ? {}
      : { answer: { at: answer.at, status: answer.status, series: answer.series } }),
  });
  if (query === null) return result('inconclusive', null, ['the stage has no targets to query']);
  if (answer === undefined) {
    return result('inconclusive', null, ['Prometheus was not asked this query']);
  }
  if (answer.status === 'error') {
    return result('inconclusive', null, [`the query failed: ${answer.error ?? 'unknown error'}`]);
  }
  if (answer.series.length === 0) {
    return result('inconclusive', null, ['the query returned no series']);
  }
  const values = answer.series.map((s) => (s.value.trim() === '' ? Number.NaN : Number(s.value)));
  if (values.some((v) => !Number.isFinite(v))) {
    return result('inconclusive', null, ['the query returned a value that is not a finite number']);
  }
  const measured = spec.op === '<' || spec.op === '<=' ? Math.max(...values) : Math.min(...values);
  const ok = holds(measured, spec.op, spec.threshold);
  return result(ok ? 'pass' : 'fail', measured, [
    `${query} = ${measured} ${ok ? 'satisfies' : 'violates'} ${spec.op} ${spec.threshold}` +
      (values.length > 1 ? ` (worst of ${values.length} series)` : ''),
  ]);
}
