import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, rollbackTarget } from '../../src/release/index.ts';
import type { Pin, ReleaseState } from '../../src/release/index.ts';
import {
  NEW,
  OLD,
  OLDER,
  PINNED,
  at,
  context,
  channel,
  ids,
  release,
  reports,
  simplePlan,
} from './fixtures.ts';

describe('rollbackTarget', () => {
  it('targets the pin when one is set', () => {
    expect(rollbackTarget({ pin: PINNED, lkg: OLD, revoked: [] })).toBe(PINNED);
  });

  it('targets the LKG when there is no pin or the pin is revoked', () => {
    expect(rollbackTarget({ pin: null, lkg: OLD, revoked: [] })).toBe(OLD);
    expect(rollbackTarget({ pin: PINNED, lkg: OLD, revoked: [PINNED] })).toBe(OLD);
  });

  it('has no target when both are missing or revoked', () => {
    expect(rollbackTarget({ pin: null, lkg: null, revoked: [] })).toBeNull();
    expect(rollbackTarget({ pin: PINNED, lkg: OLD, revoked: [OLD, PINNED] })).toBeNull();
  });

  it('never returns a revoked pack', () => {
    const pack = fc.constantFrom(NEW, OLD, OLDER, PINNED);
    fc.assert(
      fc.property(fc.option(pack), fc.option(pack), fc.array(pack), (pin, lkg, revoked) => {
        const target = rollbackTarget({ pin, lkg, revoked });
        return target === null || (!revoked.includes(target) && (target === pin || target === lkg));
      }),
    );
  });

  it('is what decide rolls back to, whatever else the context holds', () => {
    const pack = fc.constantFrom(OLD, OLDER, PINNED);
    const inputs = fc.record({
      pin: fc.option(pack),
      lkg: fc.option(pack),
      revoked: fc.array(pack, { maxLength: 3 }),
    });
    const noise = fc.record({
      stageIndex: fc.integer({ min: 0, max: 2 }),
      errorRate: fc.double({ min: 0.2, max: 1, noNaN: true }),
      targets: fc.integer({ min: 1, max: 30 }),
      state: fc.constantFrom('rolling' as const, 'paused' as const),
      elapsed: fc.integer({ min: 0, max: 5000 }),
      floor: fc.option(fc.integer({ min: 0, max: 15 })),
      otherPins: fc.array(fc.constantFrom(OLDER, PINNED), { maxLength: 2 }),
    });
    fc.assert(
      fc.property(inputs, noise, (i, n) => {
        const now = at(10_000);
        const pins: Pin[] = n.otherPins.map((p) => ({
          cohort: { matchLabels: { region: 'eu' } },
          pack: p,
          expiresAt: at(20_000),
          reason: 'hold eu',
        }));
        if (i.pin !== null)
          pins.push({ cohort: null, pack: i.pin, expiresAt: at(20_000), reason: 'hold' });
        const rel: ReleaseState = release(simplePlan([{}, {}, {}]), {
          state: n.state,
          stageIndex: n.stageIndex,
          stageStartedAt: at(10_000 - n.elapsed),
        });
        const targets = ids(n.targets);
        const result = decide(
          context(rel, {
            channel: channel({ pins, lkg: i.lkg, revoked: i.revoked, floor: n.floor }),
            reports: reports(targets, now, { errorRate: n.errorRate }),
            stageTargets: targets,
          }),
          now,
        );
        const expected = rollbackTarget(i);
        expect(result.release.state).toBe('rolled_back');
        expect(result.release.outcome?.rollbackTo).toBe(expected);
        const action = result.actions[0];
        if (expected === null) expect(action).toEqual({ kind: 'clearRollout', release: 'rel_1' });
        else
          expect(action).toEqual({ kind: 'rollback', release: 'rel_1', pack: NEW, to: expected });
      }),
    );
  });
});
