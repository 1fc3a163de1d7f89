import semver from 'semver';
import { LockgateError } from './errors.ts';

/** What a runtime declares about itself: its version and its capability values. */
export interface RuntimeProfile {
  /** semantic version of the runtime, checked against `requires.runtime`; null = undeclared */
  runtimeVersion: string | null;
  /** other `requires` keys must equal these values; `capabilities` is a comma list */
  capabilities: Readonly<Record<string, string>>;
}

/** True when text is a semantic version (`2.3.0`, `2.3.0-rc.1`). */
export function isSemverVersion(text: string): boolean {
  return semver.valid(text) !== null;
}

/**
 * Why a pack's `requires` does not hold for a runtime, or null when every entry holds. Fail
 * closed: an undeclared key, an unreadable version or range is a problem.
 * - `runtime`: a semver range the runtime's version must satisfy;
 * - `capabilities`: a comma list that must be a subset of the runtime's comma list;
 * - any other key: the runtime's value must equal the pack's.
 */
export function compatibilityProblem(
  requires: Readonly<Record<string, string>>,
  runtime: RuntimeProfile,
): { key: string; required: string; declared: string | null; problem: string } | null {
  for (const key of Object.keys(requires).sort()) {
    const required = requires[key] ?? '';
    const declared =
      key === 'runtime'
        ? runtime.runtimeVersion
        : Object.hasOwn(runtime.capabilities, key)
          ? (runtime.capabilities[key] ?? null)
          : null;
    const problem = requirementProblem(key, required, declared);
    if (problem !== null) return { key, required, declared, problem };
  }
  return null;
}

/** Throws PACK_INCOMPATIBLE naming the first `requires` entry that does not hold. */
export function checkCompatibility(
  requires: Readonly<Record<string, string>>,
  runtime: RuntimeProfile,
): void {
  const found = compatibilityProblem(requires, runtime);
  if (found === null) return;
  throw new LockgateError(
    'PACK_INCOMPATIBLE',
    `The pack requires ${found.key} "${found.required}": ${found.problem}.`,
    { details: { key: found.key, required: found.required, declared: found.declared } },
  );
}

function requirementProblem(key: string, want: string, have: string | null): string | null {
  if (have === null) return `this runtime declares no ${key}`;
  if (key === 'runtime') {
    if (semver.valid(have) === null) return `the runtime version "${have}" is not semver`;
    if (semver.validRange(want) === null) return 'the range does not parse';
    return semver.satisfies(have, want) ? null : `runtime ${have} is outside the range`;
  }
  if (key === 'capabilities') {
    const offered = new Set(listOf(have));
    const missing = listOf(want).filter((c) => !offered.has(c));
    return missing.length === 0 ? null : `this runtime lacks ${missing.join(', ')}`;
  }
  return have === want ? null : `this runtime has ${key} "${have}"`;
}

function listOf(text: string): string[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}
