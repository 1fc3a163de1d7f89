import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  evaluatePrometheusGate,
  prometheusGateProblems,
  renderGateQuery,
  validatePlan,
} from '../../src/release/index.ts';
import type { PrometheusAnswer, PrometheusGateSpec } from '../../src/release/index.ts';

const SCOPE = {
  release: 'rel_1',
  pack: 'sha256:abc',
  env: 'prod-eu',
  channel: 'stable',
  targets: ['t.2', 't-1'],
};

const GATE: PrometheusGateSpec = {
  provider: 'prometheus',
  query: 'max(errors_ratio{target=~"{{targets}}",channel="{{channel}}"}[{{window}}])',
  op: '<=',
  threshold: 0.05,
  windowSeconds: 60,
};

const RENDERED = 'max(errors_ratio{target=~"t-1|t\\\\.2",channel="stable"}[60s])';

function answer(values: string[], status: 'success' | 'error' = 'success'): PrometheusAnswer {
  return {
    query: RENDERED,
    at: '2026-03-02T08:00:00.000Z',
    status,
    series: values.map((value, i) => ({ labels: { i: String(i) }, value })),
    ...(status === 'error' ? { error: 'bad_data: parse error' } : {}),
  };
}

describe('prometheus gate', () => {
  it('renders the stage scope into the query, target ids sorted and escaped as a regex', () => {
    expect(renderGateQuery(GATE, SCOPE)).toBe(RENDERED);
  });

  it('renders nothing to ask when the query names the targets and the stage has none', () => {
    expect(renderGateQuery(GATE, { ...SCOPE, targets: [] })).toBeNull();
    const verdict = evaluatePrometheusGate(GATE, { ...SCOPE, targets: [] }, []);
    expect(verdict.verdict).toBe('inconclusive');
  });

  it('passes when every series satisfies the threshold and records the query and answer', () => {
    const verdict = evaluatePrometheusGate(GATE, SCOPE, [answer(['0.01', '0.02'])]);
    expect(verdict).toMatchObject({
      verdict: 'pass',
      measured: 0.02,
      provider: 'prometheus',
      query: RENDERED,
      answer: { at: '2026-03-02T08:00:00.000Z', status: 'success' },
    });
  });

  it('fails on the worst series', () => {
    expect(evaluatePrometheusGate(GATE, SCOPE, [answer(['0.01', '0.5'])])).toMatchObject({
      verdict: 'fail',
      measured: 0.5,
    });
    const atLeast = { ...GATE, op: '>=' as const, threshold: 0.9 };
    const rendered = renderGateQuery(atLeast, SCOPE) ?? '';
    const verdict = evaluatePrometheusGate(atLeast, SCOPE, [
      { ...answer(['0.99', '0.5']), query: rendered },
    ]);
    expect(verdict).toMatchObject({ verdict: 'fail', measured: 0.5 });
  });

  it('is inconclusive on an empty result, an error, NaN or an answer to another query', () => {
    for (const answers of [
      [answer([])],
      [answer([], 'error')],
      [answer(['NaN'])],
      [answer(['+Inf'])],
      [{ ...answer(['0']), query: 'up' }],
      [],
    ]) {
      expect(evaluatePrometheusGate(GATE, SCOPE, answers).verdict).toBe('inconclusive');
    }
  });

  it('never passes without a finite value in an answer to the rendered query', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('NaN', '+Inf', '-Inf', 'x', ''), { maxLength: 4 }),
        fc.boolean(),
        (values, failed) => {
          const verdict = evaluatePrometheusGate(GATE, SCOPE, [
            answer(values, failed ? 'error' : 'success'),
          ]);
          return verdict.verdict === 'inconclusive';
        },
      ),
    );
  });

  it('names every problem of a malformed gate, and plans accept a valid one', () => {
    expect(
      prometheusGateProblems({ provider: 'prometheus', query: '{{nope}}', op: '=', extra: 1 }),
    ).toEqual([
      'gate.extra is not a prometheus gate field',
      'gate.query names {{nope}}, which is not one of {{release}}, {{pack}}, {{env}}, {{channel}}, {{targets}}, {{window}}',
      'gate.op must be one of <= < >= >',
      'gate.threshold must be a finite number',
      'gate.windowSeconds must be a positive integer',
    ]);
    const plan = validatePlan({
      name: 'p',
      stages: [{ name: 'all', percent: 100, soakSeconds: 0, gates: [GATE] }],
    });
    expect(plan.stages[0]?.gates).toEqual([GATE]);
  });
});
