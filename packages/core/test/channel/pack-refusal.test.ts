import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packRefusal, packRefusals } from '../../src/channel/index.ts';
import type { ChannelRules } from '../../src/channel/index.ts';
import { desiredPack, buildChannelIndex } from '../../src/release/index.ts';
import { at, digest } from '../release/fixtures.ts';

const PACK = digest('kb-2.0.0');
const now = at(0);

function rules(overrides: Partial<ChannelRules> = {}): ChannelRules {
  return { floor: null, constraints: {}, revoked: [], rollbackAuthorizations: [], ...overrides };
}

describe('packRefusals', () => {
  it('allows a known pack on a channel with no floor, constraints or revocations', () => {
    expect(packRefusals(rules(), { digest: PACK, sequence: 3, requires: {} }, now)).toEqual([]);
  });

  it('reports every refusal in a fixed order: revoked, constraints, below the floor', () => {
    const refused = packRefusals(
      rules({ revoked: [PACK], floor: 5, constraints: { runtime: '>=2.0.0', profile: 'eu' } }),
      { digest: PACK, sequence: 3, requires: { runtime: '<2.0.0' } },
      now,
    );
    expect(refused.map((r) => r.code)).toEqual([
      'PACK_REVOKED',
      'PACK_INCOMPATIBLE',
      'PACK_INCOMPATIBLE',
      'RELEASE_BELOW_FLOOR',
    ]);
    expect(refused[3]?.message).toMatch(/below the channel floor 5/);
  });

  it('refuses an unknown pack and a malformed sequence (fail closed)', () => {
    expect(packRefusal(rules(), { digest: PACK, sequence: null }, now)?.code).toBe(
      'PACK_NOT_FOUND',
    );
    expect(packRefusal(rules(), { digest: PACK, sequence: -1 }, now)?.code).toBe(
      'RELEASE_NOT_ELIGIBLE',
    );
  });

  it('allows a pack below the floor only while an authorization for it is unexpired', () => {
    const authorized = rules({
      floor: 5,
      rollbackAuthorizations: [{ pack: PACK, reason: 'r', expiresAt: at(60) }],
    });
    expect(packRefusal(authorized, { digest: PACK, sequence: 3 }, now)).toBeNull();
    expect(packRefusal(authorized, { digest: PACK, sequence: 3 }, at(60))?.code).toBe(
      'RELEASE_BELOW_FLOOR',
    );
  });

  it('checks the constraints only when the pack requirements are given', () => {
    const constrained = rules({ constraints: { runtime: '>=2.0.0' } });
    expect(packRefusal(constrained, { digest: PACK, sequence: 1 }, now)).toBeNull();
    expect(packRefusal(constrained, { digest: PACK, sequence: 1, requires: {} }, now)?.code).toBe(
      'PACK_INCOMPATIBLE',
    );
  });

  it('agrees with desiredPack: a base the rule allows is the pack every target is given', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10 }),
        fc.option(fc.integer({ min: 0, max: 10 })),
        fc.boolean(),
        fc.boolean(),
        (sequence, floor, revoked, authorized) => {
          const channel = rules({
            floor,
            revoked: revoked ? [PACK] : [],
            rollbackAuthorizations: authorized
              ? [{ pack: PACK, reason: 'r', expiresAt: at(60) }]
              : [],
          });
          const index = buildChannelIndex({
            env: 'prod-eu',
            channel: 'stable',
            version: 1,
            issuedAt: now,
            ttlSeconds: 60,
            packs: { [PACK]: { name: 'kb', version: '2.0.0', sequence } },
            base: PACK,
            rollout: null,
            pins: [],
            floor,
            revoked: [...channel.revoked],
            rollbackAuthorizations: [...channel.rollbackAuthorizations],
          });
          const allowed = packRefusal(channel, { digest: PACK, sequence }, now) === null;
          const desired = desiredPack(index, { id: 't1', labels: {} }, now).pack;
          return allowed === (desired === PACK);
        },
      ),
    );
  });
});
