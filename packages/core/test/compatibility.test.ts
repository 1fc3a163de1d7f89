import { describe, expect, it } from 'vitest';
import {
  checkCompatibility,
  compatibilityProblem,
  isSemverVersion,
  LockgateError,
} from '../src/index.ts';
import type { RuntimeProfile } from '../src/index.ts';

const runtime: RuntimeProfile = {
  runtimeVersion: '2.3.1',
  capabilities: { schema: 'kb/3', capabilities: 'lookup, search,stats' },
};

describe('compatibilityProblem', () => {
  it('finds nothing when every requirement holds', () => {
    expect(
      compatibilityProblem(
        { runtime: '>=2.3 <3', schema: 'kb/3', capabilities: 'search,lookup' },
        runtime,
      ),
    ).toBeNull();
  });

  it.each<[Record<string, string>, string]>([
    [{ runtime: '>=3' }, 'runtime 2.3.1 is outside the range'],
    [{ runtime: 'not a range' }, 'the range does not parse'],
    [{ schema: 'kb/4' }, 'this runtime has schema "kb/3"'],
    [{ profile: 'default' }, 'this runtime declares no profile'],
    [{ capabilities: 'lookup,export' }, 'this runtime lacks export'],
  ])('names the first requirement that fails: %o', (requires, problem) => {
    expect(compatibilityProblem(requires, runtime)?.problem).toBe(problem);
  });

  it('fails closed when the pack needs a runtime version and none or a bad one is declared', () => {
    expect(
      compatibilityProblem({ runtime: '*' }, { runtimeVersion: null, capabilities: {} }),
    ).not.toBeNull();
    expect(
      compatibilityProblem({ runtime: '*' }, { runtimeVersion: '2.3', capabilities: {} }),
    ).not.toBeNull();
  });
});

describe('checkCompatibility', () => {
  it('throws PACK_INCOMPATIBLE with the key, the requirement and what the runtime declares', () => {
    let caught: unknown;
    try {
      checkCompatibility({ runtime: '^3.0.0' }, runtime);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(LockgateError);
    expect((caught as LockgateError).code).toBe('PACK_INCOMPATIBLE');
    expect((caught as LockgateError).details).toEqual({
      key: 'runtime',
      required: '^3.0.0',
      declared: '2.3.1',
    });
  });

  it('knows a semantic version from other text', () => {
    expect(isSemverVersion('2.3.0-rc.1')).toBe(true);
    expect(isSemverVersion('2.3')).toBe(false);
  });
});
