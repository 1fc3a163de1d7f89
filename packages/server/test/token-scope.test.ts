import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  channelInScope,
  checkTokenScope,
  matchesChannelPattern,
  matchesTargetPattern,
  NO_SCOPE,
  targetInScope,
} from '../src/features/tokens/token-scope.ts';

/** What a target pattern means, said as a regular expression. */
function oracle(pattern: string, id: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`).test(id);
}

const idChars = fc.constantFrom('a', 'b', '-', '.', '1');

describe('target patterns', () => {
  it('match a target id exactly, or with * standing for any run of characters', () => {
    expect(matchesTargetPattern('host-1', 'host-1')).toBe(true);
    expect(matchesTargetPattern('host-1', 'host-10')).toBe(false);
    expect(matchesTargetPattern('host-1', 'Host-1')).toBe(false);
    expect(matchesTargetPattern('host-*', 'host-')).toBe(true);
    expect(matchesTargetPattern('host-*', 'host-eu-7')).toBe(true);
    expect(matchesTargetPattern('host-*', 'xhost-1')).toBe(false);
    expect(matchesTargetPattern('*', 'anything')).toBe(true);
    expect(matchesTargetPattern('a*a', 'a')).toBe(false);
    expect(matchesTargetPattern('*-eu-*', 'host-eu-1')).toBe(true);
    expect(matchesTargetPattern('*-eu-*', 'host-us-1')).toBe(false);
  });

  it('agree with the regular expression they stand for', () => {
    const word = fc.array(idChars, { maxLength: 8 }).map((chars) => chars.join(''));
    const pattern = fc
      .array(fc.oneof(idChars, fc.constant('*')), { maxLength: 8 })
      .map((chars) => chars.join(''));
    fc.assert(
      fc.property(pattern, word, (p, id) => {
        expect(matchesTargetPattern(p, id)).toBe(oracle(p, id));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('channel patterns', () => {
  it('match ENV/CHANNEL, either part exactly or as *', () => {
    expect(matchesChannelPattern('prod-eu/stable', 'prod-eu', 'stable')).toBe(true);
    expect(matchesChannelPattern('prod-eu/stable', 'prod-eu', 'canary')).toBe(false);
    expect(matchesChannelPattern('prod-eu/*', 'prod-eu', 'canary')).toBe(true);
    expect(matchesChannelPattern('prod-eu/*', 'prod-us', 'canary')).toBe(false);
    expect(matchesChannelPattern('*/stable', 'prod-us', 'stable')).toBe(true);
    expect(matchesChannelPattern('prod-*/stable', 'prod-eu', 'stable')).toBe(false);
  });
});

describe('scopes', () => {
  it('leave admin and operator tokens (null) unrestricted, and let NO_SCOPE match nothing', () => {
    expect(targetInScope(null, 'host-1')).toBe(true);
    expect(channelInScope(null, 'prod-eu', 'stable')).toBe(true);
    expect(targetInScope(NO_SCOPE, 'host-1')).toBe(false);
    expect(channelInScope(NO_SCOPE, 'prod-eu', 'stable')).toBe(false);
  });

  it('are checked when given: no empty lists, no malformed patterns, repeats dropped', () => {
    expect(checkTokenScope({ targets: ['host-*', 'host-*'], channels: ['prod-eu/*'] })).toEqual({
      targets: ['host-*'],
      channels: ['prod-eu/*'],
    });
    for (const scope of [
      { targets: [], channels: ['prod-eu/stable'] },
      { targets: ['host-1'], channels: [] },
      { targets: ['host 1'], channels: ['prod-eu/stable'] },
      { targets: ['host-1'], channels: ['prod-eu'] },
      { targets: ['host-1'], channels: ['prod-eu/stable/x'] },
      { targets: Array.from({ length: 65 }, (_, i) => `h-${i}`), channels: ['a/b'] },
    ]) {
      expect(() => checkTokenScope(scope), JSON.stringify(scope)).toThrow(
        expect.objectContaining({ code: 'VALIDATION_FAILED' }),
      );
    }
  });
});
