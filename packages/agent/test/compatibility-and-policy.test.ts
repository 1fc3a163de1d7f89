import { describe, expect, it } from 'vitest';
import { LockgateError, validateChannelIndex } from '@lockgate/core';
import type { ChannelIndexPayload, PackManifest } from '@lockgate/core';
import { checkCompatibility, checkPolicy } from '../src/index.ts';
import type { RuntimeProfile } from '../src/index.ts';

const DIGEST = `sha256:${'a'.repeat(64)}` as const;
const NOW = new Date('2026-11-23T10:00:00Z');

function codeOf(fn: () => void): string | null {
  try {
    fn();
    return null;
  } catch (error) {
    return error instanceof LockgateError ? error.code : 'not a LockgateError';
  }
}

function manifestRequiring(requires: Record<string, string>): PackManifest {
  return {
    schema: 'lockgate.pack/v1',
    name: 'kb',
    version: '1.0.0',
    sequence: 1,
    files: [],
    requires,
    provenance: { buildId: 'b', createdAt: '2026-11-22T10:00:00Z', gates: [] },
    signatures: [],
  };
}

function index(overrides: Partial<ChannelIndexPayload>): ChannelIndexPayload {
  return validateChannelIndex({
    schema: 'lockgate.channel-index/v1',
    env: 'prod-eu',
    channel: 'stable',
    version: 1,
    issuedAt: '2026-11-23T09:00:00Z',
    expiresAt: '2026-11-24T09:00:00Z',
    packs: { [DIGEST]: { name: 'kb', version: '1.0.0', sequence: 5 } },
    base: DIGEST,
    rollout: null,
    pins: [],
    floor: null,
    revoked: [],
    rollbackAuthorizations: [],
    ...overrides,
  });
}

describe('compatibility with this runtime', () => {
  const runtime: RuntimeProfile = {
    runtimeVersion: '2.3.1',
    capabilities: { schema: 'kb/3', capabilities: 'lookup, search,stats' },
  };

  it('accepts a pack whose every requirement holds', () => {
    const manifest = manifestRequiring({
      runtime: '>=2.3 <3',
      schema: 'kb/3',
      capabilities: 'search,lookup',
    });
    expect(codeOf(() => checkCompatibility(manifest, runtime))).toBeNull();
  });

  it.each<[Record<string, string>, string]>([
    [{ runtime: '>=3' }, 'a runtime outside the range'],
    [{ runtime: 'not a range' }, 'a range that does not parse'],
    [{ schema: 'kb/4' }, 'another value of a key'],
    [{ profile: 'default' }, 'a key this runtime does not declare'],
    [{ capabilities: 'lookup,export' }, 'a capability this runtime lacks'],
  ])('refuses %o (%s) with PACK_INCOMPATIBLE', (requires) => {
    expect(codeOf(() => checkCompatibility(manifestRequiring(requires), runtime))).toBe(
      'PACK_INCOMPATIBLE',
    );
  });

  it('fails closed when the pack needs a runtime version and none is declared', () => {
    const undeclared: RuntimeProfile = { runtimeVersion: null, capabilities: {} };
    expect(codeOf(() => checkCompatibility(manifestRequiring({ runtime: '*' }), undeclared))).toBe(
      'PACK_INCOMPATIBLE',
    );
  });
});

describe('policy against the channel index', () => {
  const pack = { digest: DIGEST, sequence: 5, highestActivatedSequence: null };

  it('refuses a revoked pack with PACK_REVOKED', () => {
    expect(codeOf(() => checkPolicy(pack, index({ revoked: [DIGEST] }), NOW))).toBe('PACK_REVOKED');
  });

  it('refuses a pack below the index floor with RELEASE_BELOW_FLOOR', () => {
    expect(codeOf(() => checkPolicy(pack, index({ floor: 6 }), NOW))).toBe('RELEASE_BELOW_FLOOR');
  });

  it('refuses a pack below the highest sequence this target committed', () => {
    expect(
      codeOf(() => checkPolicy({ ...pack, highestActivatedSequence: 7 }, index({}), NOW)),
    ).toBe('RELEASE_BELOW_FLOOR');
  });

  it('lets an unexpired rollback authorization through both floors, and not an expired one', () => {
    const authorization = (expiresAt: string): Partial<ChannelIndexPayload> => ({
      floor: 6,
      rollbackAuthorizations: [{ pack: DIGEST, reason: 'incident', expiresAt }],
    });
    const below = { ...pack, highestActivatedSequence: 7 };
    expect(
      codeOf(() => checkPolicy(below, index(authorization('2026-11-23T11:00:00Z')), NOW)),
    ).toBeNull();
    expect(
      codeOf(() => checkPolicy(below, index(authorization('2026-11-23T09:59:59Z')), NOW)),
    ).toBe('RELEASE_BELOW_FLOOR');
  });
});
