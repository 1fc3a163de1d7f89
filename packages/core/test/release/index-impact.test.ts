import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildChannelIndex, inPercent, indexImpact } from '../../src/release/index.ts';
import type { ChannelIndexInput, IndexPackInfo } from '../../src/release/index.ts';
import { NEW, OLD, PINNED, at, ids } from './fixtures.ts';

const packs: Record<string, IndexPackInfo> = {
  [NEW]: { name: 'kb', version: '1.5.0', sequence: 15 },
  [OLD]: { name: 'kb', version: '1.4.0', sequence: 14 },
  [PINNED]: { name: 'kb', version: '1.2.0', sequence: 12 },
};

function input(overrides: Partial<ChannelIndexInput> = {}): ChannelIndexInput {
  return {
    env: 'prod-eu',
    channel: 'stable',
    version: 7,
    issuedAt: at(0),
    ttlSeconds: 86_400,
    packs,
    base: OLD,
    rollout: { release: 'rel_1', pack: NEW, salt: 'rel_1', percent: 30, cohorts: [] },
    pins: [],
    floor: null,
    revoked: [],
    rollbackAuthorizations: [],
    ...overrides,
  };
}

const fleet = ids(200).map((id) => ({ id, labels: { region: id.endsWith('1') ? 'us' : 'eu' } }));

describe('indexImpact', () => {
  it('moves the rollout targets back to the base on a rollback and keeps the rest', () => {
    const current = buildChannelIndex(input());
    const proposed = buildChannelIndex(input({ rollout: null, version: 8 }));
    const onNew = fleet.filter((t) => inPercent('rel_1', t.id, 30)).length;
    const impact = indexImpact(current, proposed, fleet, at(1));
    expect(impact.targets).toBe(200);
    expect(impact.moves).toEqual([
      { from: NEW, to: OLD, targets: onNew, sample: expect.any(Array) as unknown },
    ]);
    expect(impact.stays).toEqual([
      { pack: OLD, targets: 200 - onNew, sample: expect.any(Array) as unknown },
    ]);
    expect(impact.moves[0]?.sample).toHaveLength(5);
  });

  it('sends every target matching a whole-channel pin to the pinned pack', () => {
    const current = buildChannelIndex(input({ rollout: null, base: NEW }));
    const proposed = buildChannelIndex(
      input({
        rollout: null,
        base: NEW,
        pins: [{ cohort: null, pack: PINNED, expiresAt: at(600), reason: 'back' }],
      }),
    );
    const impact = indexImpact(current, proposed, fleet, at(1));
    expect(impact.moves).toEqual([{ from: NEW, to: PINNED, targets: 200, sample: ids(5) }]);
    expect(impact.stays).toEqual([]);
  });

  it('reports no pack for targets whose proposed pack is below the floor', () => {
    const current = buildChannelIndex(input({ rollout: null }));
    const proposed = buildChannelIndex(input({ rollout: null, base: PINNED, floor: 13 }));
    const impact = indexImpact(current, proposed, fleet.slice(0, 3), at(1));
    expect(impact.moves).toEqual([{ from: OLD, to: null, targets: 3, sample: ids(3) }]);
  });

  it('counts every target exactly once and moves none when the index does not change', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 60 }),
        (before, after, n) => {
          const targets = fleet.slice(0, n);
          const current = buildChannelIndex(
            input({
              rollout: { release: 'r', pack: NEW, salt: 's', percent: before, cohorts: [] },
            }),
          );
          const proposed = buildChannelIndex(
            input({ rollout: { release: 'r', pack: NEW, salt: 's', percent: after, cohorts: [] } }),
          );
          const impact = indexImpact(current, proposed, targets, at(1));
          const counted = [...impact.moves, ...impact.stays].reduce((s, g) => s + g.targets, 0);
          expect(counted).toBe(n);
          expect(indexImpact(current, current, targets, at(1)).moves).toEqual([]);
          // Bucketing is monotone: growing a rollout only moves targets onto its pack.
          if (after >= before) for (const m of impact.moves) expect(m.to).toBe(NEW);
        },
      ),
    );
  });
});
