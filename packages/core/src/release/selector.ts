/**
 * Label selectors (Kubernetes semantics) and cohorts.
 *
 * A selector is the AND of all its `matchLabels` pairs and all its `matchExpressions`; an empty
 * selector matches every target. `In` needs the label with one of `values`; `NotIn` matches when
 * the label is absent or has none of `values`; `Exists` / `DoesNotExist` test presence only.
 * Keys and values follow the Kubernetes label syntax (name ≤ 63 chars of [A-Za-z0-9-_.],
 * starting and ending alphanumeric, optional DNS-subdomain prefix `example.com/`).
 *
 * `parseSelector` reads the CLI form: `region=eu,tier in (a,b),tier notin (c),zone!=x,gpu,!legacy`
 * (`a=b` / `a==b` → matchLabels; `a!=b` → NotIn [b]; `key` → Exists; `!key` → DoesNotExist).
 *
 * A cohort is a named subset of a channel's targets: a selector and/or a percentage bucket;
 * a target is in it when it matches the selector (if any) and its bucket is below the percentage
 * (if any).
 */
import { LockgateError } from '../errors.ts';
import { inPercent } from './bucket.ts';

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export const SELECTOR_OPERATORS: readonly SelectorOperator[] = [
  'In',
  'NotIn',
  'Exists',
  'DoesNotExist',
];

export interface SelectorRequirement {
  key: string;
  operator: SelectorOperator;
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: SelectorRequirement[];
}

export type Labels = Readonly<Record<string, string>>;

/** A target as far as cohorts are concerned: its stable id and its labels. */
export interface TargetRef {
  id: string;
  labels: Labels;
}

export interface Cohort {
  name: string;
  selector?: LabelSelector;
  /** 0..100; the share of the selected targets, by bucket */
  percent?: number;
}

const NAME = /^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/;
const PREFIX = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;
const COHORT_NAME = /^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/;

export function isLabelKey(key: string): boolean {
  const slash = key.indexOf('/');
  if (slash === -1) return NAME.test(key);
  const prefix = key.slice(0, slash);
  return prefix.length <= 253 && PREFIX.test(prefix) && NAME.test(key.slice(slash + 1));
}

export function isLabelValue(value: string): boolean {
  return value === '' || NAME.test(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Problems of an unknown value as a selector; empty when it is valid. */
export function selectorProblems(value: unknown, path = 'selector'): string[] {
  const problems: string[] = [];
  if (!isPlainObject(value)) return [`${path} must be an object`];
  for (const field of Object.keys(value)) {
    if (field !== 'matchLabels' && field !== 'matchExpressions') {
      problems.push(`${path}.${field} is not a selector field`);
    }
  }
  const { matchLabels, matchExpressions } = value;
  if (matchLabels !== undefined) {
    if (!isPlainObject(matchLabels)) {
      problems.push(`${path}.matchLabels must be an object of strings`);
    } else {
      for (const [key, labelValue] of Object.entries(matchLabels)) {
        if (!isLabelKey(key)) problems.push(`${path}.matchLabels key "${key}" is not a label key`);
        if (typeof labelValue !== 'string' || !isLabelValue(labelValue)) {
          problems.push(`${path}.matchLabels.${key} is not a label value`);
        }
      }
    }
  }
  if (matchExpressions !== undefined) {
    if (!Array.isArray(matchExpressions)) {
      problems.push(`${path}.matchExpressions must be an array`);
    } else {
      matchExpressions.forEach((expression: unknown, i) => {
        problems.push(...requirementProblems(expression, `${path}.matchExpressions[${i}]`));
      });
    }
  }
  return problems;
}

function requirementProblems(value: unknown, path: string): string[] {
  if (!isPlainObject(value)) return [`${path} must be an object`];
  const problems: string[] = [];
  for (const field of Object.keys(value)) {
    if (field !== 'key' && field !== 'operator' && field !== 'values') {
      problems.push(`${path}.${field} is not a requirement field`);
    }
  }
  const { key, operator, values } = value;
  if (typeof key !== 'string' || !isLabelKey(key)) problems.push(`${path}.key is not a label key`);
  if (
    typeof operator !== 'string' ||
    !(SELECTOR_OPERATORS as readonly string[]).includes(operator)
  ) {
    problems.push(`${path}.operator must be one of ${SELECTOR_OPERATORS.join(', ')}`);
    return problems;
  }
  if (values !== undefined && !Array.isArray(values)) {
    problems.push(`${path}.values must be an array of strings`);
    return problems;
  }
  const list: unknown[] = values ?? [];
  if ((operator === 'In' || operator === 'NotIn') && list.length === 0) {
    problems.push(`${path}.values must be non-empty for ${operator}`);
  }
  if ((operator === 'Exists' || operator === 'DoesNotExist') && list.length > 0) {
    problems.push(`${path}.values must be empty for ${operator}`);
  }
  list.forEach((item, i) => {
    if (typeof item !== 'string' || !isLabelValue(item)) {
      problems.push(`${path}.values[${i}] is not a label value`);
    }
  });
  return problems;
}

/** Checks an unknown value as a selector and returns a normalized copy; SELECTOR_INVALID otherwise. */
export function validateSelector(value: unknown): LabelSelector {
  const problems = selectorProblems(value);
  if (problems.length > 0) {
    throw new LockgateError(
      'SELECTOR_INVALID',
      `The label selector is malformed: ${problems[0]}.`,
      {
        details: { problems },
      },
    );
  }
  return normalizeSelector(value as LabelSelector);
}

/** A copy holding only the selector's own fields (assumes a valid selector). */
export function normalizeSelector(selector: LabelSelector): LabelSelector {
  const out: LabelSelector = {};
  if (selector.matchLabels !== undefined) out.matchLabels = { ...selector.matchLabels };
  if (selector.matchExpressions !== undefined) {
    out.matchExpressions = selector.matchExpressions.map((r) =>
      r.values === undefined
        ? { key: r.key, operator: r.operator }
        : { key: r.key, operator: r.operator, values: [...r.values] },
    );
  }
  return out;
}

/** True when the labels satisfy every part of the selector; `{}` matches everything. */
export function matchesSelector(selector: LabelSelector, labels: Labels): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (!Object.hasOwn(labels, key) || labels[key] !== value) return false;
  }
  for (const requirement of selector.matchExpressions ?? []) {
    const present = Object.hasOwn(labels, requirement.key);
    const value = labels[requirement.key];
    const values = requirement.values ?? [];
    switch (requirement.operator) {
      case 'In':
        if (!present || value === undefined || !values.includes(value)) return false;
        break;
      case 'NotIn':
        if (present && value !== undefined && values.includes(value)) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

function invalid(text: string, problem: string): never {
  throw new LockgateError(
    'SELECTOR_INVALID',
    `The label selector "${text}" is malformed: ${problem}.`,
    {
      details: { selector: text, problems: [problem] },
    },
  );
}

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    if (depth < 0 || depth > 1) invalid(text, 'unbalanced parentheses');
    if (char === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  if (depth !== 0) invalid(text, 'unbalanced parentheses');
  parts.push(current);
  return parts;
}

const SET_REQUIREMENT = /^(\S+)\s+(in|notin)\s*\(([^()]*)\)$/;
const EQUALITY = /^([^=!\s]+)\s*(==|=|!=)\s*([^=!\s]*)$/;

/**
 * Parses the CLI selector form, e.g. `region=eu,tier in (a,b),!legacy`. An empty string is the
 * empty selector (every target). Throws SELECTOR_INVALID.
 */
export function parseSelector(text: string): LabelSelector {
  const matchLabels: Record<string, string> = {};
  const matchExpressions: SelectorRequirement[] = [];
  if (text.trim() !== '') {
    for (const raw of splitTopLevel(text)) {
      const part = raw.trim();
      if (part === '') invalid(text, 'empty requirement');
      const set = SET_REQUIREMENT.exec(part);
      const equality = EQUALITY.exec(part);
      if (set !== null) {
        const [, key = '', op, list = ''] = set;
        const values = list.split(',').map((v) => v.trim());
        if (values.some((v) => v === '')) invalid(text, `empty value in "${part}"`);
        matchExpressions.push({ key, operator: op === 'in' ? 'In' : 'NotIn', values });
      } else if (equality !== null) {
        const [, key = '', op, value = ''] = equality;
        if (op === '!=') {
          matchExpressions.push({ key, operator: 'NotIn', values: [value] });
        } else if (Object.hasOwn(matchLabels, key) && matchLabels[key] !== value) {
          invalid(text, `"${key}" is required to equal two different values`);
        } else {
          matchLabels[key] = value;
        }
      } else if (part.startsWith('!')) {
        matchExpressions.push({ key: part.slice(1).trim(), operator: 'DoesNotExist' });
      } else if (!/\s/.test(part)) {
        matchExpressions.push({ key: part, operator: 'Exists' });
      } else {
        invalid(text, `cannot read "${part}"`);
      }
    }
  }
  const selector: LabelSelector = {};
  if (Object.keys(matchLabels).length > 0) selector.matchLabels = matchLabels;
  if (matchExpressions.length > 0) selector.matchExpressions = matchExpressions;
  const problems = selectorProblems(selector);
  if (problems.length > 0) invalid(text, problems[0] ?? 'invalid');
  return selector;
}

/** The CLI form of a selector (inverse of parseSelector up to meaning); `''` for `{}`. */
export function formatSelector(selector: LabelSelector): string {
  const parts = Object.entries(selector.matchLabels ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`);
  for (const r of selector.matchExpressions ?? []) {
    const values = (r.values ?? []).join(',');
    if (r.operator === 'In') parts.push(`${r.key} in (${values})`);
    else if (r.operator === 'NotIn') parts.push(`${r.key} notin (${values})`);
    else if (r.operator === 'Exists') parts.push(r.key);
    else parts.push(`!${r.key}`);
  }
  return parts.join(',');
}

/** Checks an unknown value as a cohort; COHORT_INVALID with details.problems otherwise. */
export function validateCohort(value: unknown): Cohort {
  const problems: string[] = [];
  if (!isPlainObject(value)) {
    problems.push('cohort must be an object');
  } else {
    for (const field of Object.keys(value)) {
      if (field !== 'name' && field !== 'selector' && field !== 'percent') {
        problems.push(`cohort.${field} is not a cohort field`);
      }
    }
    if (typeof value.name !== 'string' || !COHORT_NAME.test(value.name)) {
      problems.push('cohort.name must be 1-63 characters of [A-Za-z0-9_.-]');
    }
    if (value.selector !== undefined)
      problems.push(...selectorProblems(value.selector, 'cohort.selector'));
    const { percent } = value;
    if (
      percent !== undefined &&
      (typeof percent !== 'number' || !(percent >= 0 && percent <= 100))
    ) {
      problems.push('cohort.percent must be a number in 0..100');
    }
  }
  if (problems.length > 0 || !isPlainObject(value)) {
    throw new LockgateError('COHORT_INVALID', `The cohort is malformed: ${problems[0]}.`, {
      details: { problems },
    });
  }
  const cohort: Cohort = { name: value.name as string };
  if (value.selector !== undefined)
    cohort.selector = normalizeSelector(value.selector as LabelSelector);
  if (value.percent !== undefined) cohort.percent = value.percent as number;
  return cohort;
}

/** True when the target matches the cohort's selector (if any) and is in its percentage (if any). */
export function inCohort(cohort: Cohort, salt: string, target: TargetRef): boolean {
  if (cohort.selector !== undefined && !matchesSelector(cohort.selector, target.labels))
    return false;
  if (cohort.percent !== undefined && !inPercent(salt, target.id, cohort.percent)) return false;
  return true;
}
