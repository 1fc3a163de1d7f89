import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatSelector,
  inCohort,
  inPercent,
  matchesSelector,
  parseSelector,
  validateCohort,
  validateSelector,
} from '../../src/release/index.ts';
import type { LabelSelector } from '../../src/release/index.ts';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe('matchesSelector', () => {
  const labels = { region: 'eu', tier: 'gold', runtime: '2.3' };

  it('matches every target with the empty selector', () => {
    expect(matchesSelector({}, labels)).toBe(true);
    expect(matchesSelector({}, {})).toBe(true);
  });

  it('requires each matchLabels pair', () => {
    expect(matchesSelector({ matchLabels: { region: 'eu', tier: 'gold' } }, labels)).toBe(true);
    expect(matchesSelector({ matchLabels: { region: 'us' } }, labels)).toBe(false);
    expect(matchesSelector({ matchLabels: { zone: 'a' } }, labels)).toBe(false);
  });

  it('reads In, NotIn, Exists and DoesNotExist like Kubernetes', () => {
    const m = (e: LabelSelector['matchExpressions']) =>
      matchesSelector({ matchExpressions: e }, labels);
    expect(m([{ key: 'tier', operator: 'In', values: ['gold', 'silver'] }])).toBe(true);
    expect(m([{ key: 'tier', operator: 'In', values: ['silver'] }])).toBe(false);
    expect(m([{ key: 'zone', operator: 'In', values: ['a'] }])).toBe(false);
    expect(m([{ key: 'tier', operator: 'NotIn', values: ['gold'] }])).toBe(false);
    expect(m([{ key: 'zone', operator: 'NotIn', values: ['a'] }])).toBe(true);
    expect(m([{ key: 'region', operator: 'Exists' }])).toBe(true);
    expect(m([{ key: 'legacy', operator: 'Exists' }])).toBe(false);
    expect(m([{ key: 'legacy', operator: 'DoesNotExist' }])).toBe(true);
    expect(m([{ key: 'region', operator: 'DoesNotExist' }])).toBe(false);
  });

  it('does not treat inherited object properties as labels', () => {
    expect(
      matchesSelector({ matchExpressions: [{ key: 'constructor', operator: 'Exists' }] }, {}),
    ).toBe(false);
  });
});

describe('validateSelector', () => {
  it('returns a copy of a valid selector', () => {
    const selector = {
      matchLabels: { region: 'eu' },
      matchExpressions: [{ key: 'tier', operator: 'In', values: ['a'] }],
    };
    expect(validateSelector(selector)).toEqual(selector);
  });

  it('refuses malformed selectors with SELECTOR_INVALID and lists every problem', () => {
    const bad = {
      matchLabels: { 'bad key!': 'x', region: 5 },
      matchExpressions: [
        { key: 'a', operator: 'In', values: [] },
        { key: 'b', operator: 'Exists', values: ['x'] },
        { key: 'c', operator: 'Like' },
      ],
      extra: true,
    };
    try {
      validateSelector(bad);
      expect.fail('should throw');
    } catch (error) {
      expect((error as { code: string }).code).toBe('SELECTOR_INVALID');
      expect((error as { details: { problems: string[] } }).details.problems).toHaveLength(6);
    }
    expect(codeOf(() => validateSelector(null))).toBe('SELECTOR_INVALID');
    expect(codeOf(() => validateSelector([]))).toBe('SELECTOR_INVALID');
  });
});

describe('parseSelector', () => {
  it('reads the CLI form into matchLabels and matchExpressions', () => {
    expect(
      parseSelector('region=eu, tier in (a, b),!legacy,gpu,zone!=x,tier notin (c),os==linux'),
    ).toEqual({
      matchLabels: { region: 'eu', os: 'linux' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['a', 'b'] },
        { key: 'legacy', operator: 'DoesNotExist' },
        { key: 'gpu', operator: 'Exists' },
        { key: 'zone', operator: 'NotIn', values: ['x'] },
        { key: 'tier', operator: 'NotIn', values: ['c'] },
      ],
    });
  });

  it('reads an empty string as the selector of every target', () => {
    expect(parseSelector('  ')).toEqual({});
  });

  it.each(['a in (b', 'a=1,a=2', ',', 'a b', 'a in ()', 'bad key=1', 'a=(b)', 'a in (b,,c)'])(
    'refuses %j with SELECTOR_INVALID',
    (text) => {
      expect(codeOf(() => parseSelector(text))).toBe('SELECTOR_INVALID');
    },
  );

  it('round-trips through formatSelector without changing which labels match', () => {
    const key = fc.constantFrom('region', 'tier', 'zone', 'example.com/team');
    const value = fc.constantFrom('eu', 'us', 'gold', '2.3', 'a_b');
    const requirement = fc.oneof(
      fc.record({
        key,
        operator: fc.constantFrom('In' as const, 'NotIn' as const),
        values: fc.array(value, { minLength: 1, maxLength: 3 }),
      }),
      fc.record({ key, operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const) }),
    );
    const selector = fc.record(
      {
        matchLabels: fc.dictionary(key, value, { maxKeys: 2 }),
        matchExpressions: fc.array(requirement, { maxLength: 3 }),
      },
      { requiredKeys: [] },
    );
    const labels = fc.dictionary(key, value, { maxKeys: 4 });
    fc.assert(
      fc.property(selector, labels, (s, l) => {
        const parsed = parseSelector(formatSelector(s));
        return matchesSelector(parsed, l) === matchesSelector(s, l);
      }),
    );
  });
});

describe('cohorts', () => {
  it('holds a target that matches the selector and falls in the percentage', () => {
    const cohort = validateCohort({
      name: 'eu-early',
      selector: { matchLabels: { region: 'eu' } },
      percent: 50,
    });
    const targets = Array.from({ length: 40 }, (_, i) => ({
      id: `t${i}`,
      labels: { region: i % 2 ? 'eu' : 'us' },
    }));
    for (const target of targets) {
      const expected = target.labels.region === 'eu' && inPercent('salt', target.id, 50);
      expect(inCohort(cohort, 'salt', target)).toBe(expected);
    }
  });

  it('refuses a malformed cohort with COHORT_INVALID', () => {
    expect(codeOf(() => validateCohort({ name: '', percent: 120 }))).toBe('COHORT_INVALID');
    expect(codeOf(() => validateCohort({ name: 'x', selector: { matchLabels: { a: 1 } } }))).toBe(
      'COHORT_INVALID',
    );
  });
});
