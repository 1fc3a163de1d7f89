import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyCommand,
  buildChannelIndex,
  decide,
  desiredPack,
  planRollback,
  rollbackTarget,
} from '../../src/release/index.ts';
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
  digest,
} from './fixtures.ts';

const BASE = digest('kb-base');

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
      // floors that leave every candidate allowed: below-floor targets are planRollback's tests
      floor: fc.option(fc.integer({ min: 0, max: 12 })),
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
            channel: channel({
              pins,
              lkg: i.lkg,
              revoked: i.revoked,
              floor: n.floor,
              // a base none of the generated revocations touch, so "clear the rollout" is allowed
              base: BASE,
              packs: { ...channel().packs, [BASE]: { sequence: 14 } },
            }),
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

describe('planRollback', () => {
  const now = at(100);
  const rolling = (): ReleaseState =>
    release(simplePlan(), { state: 'rolling', stageIndex: 0, stageStartedAt: at(0) });

  it('never lands below the floor: LKG at sequence 14 under floor 15 leaves nothing allowed', () => {
    const ch = channel({ floor: 15 });
    const plan = planRollback(ch, NEW, now);
    expect(plan.to).toBeNull();
    expect(plan.blocked).toMatch(/below the channel floor 15/);
    expect(plan.blocked).toMatch(/rollback-auth add/);
  });

  it('lands on the LKG once a rollback authorization covers it', () => {
    const ch = channel({
      floor: 15,
      rollbackAuthorizations: [{ pack: OLD, reason: 'incident', expiresAt: at(1000) }],
    });
    expect(planRollback(ch, NEW, now)).toMatchObject({ to: OLD, blocked: null });
  });

  it('skips a refused pin for an allowed LKG, and an unknown pack is refused', () => {
    const pins: Pin[] = [{ cohort: null, pack: PINNED, expiresAt: at(1000), reason: 'hold' }];
    expect(planRollback(channel({ pins, floor: 13 }), NEW, now).to).toBe(OLD);
    const unknown = channel({ lkg: digest('never-pushed'), base: null });
    expect(planRollback(unknown, NEW, now).to).toBeNull();
  });

  it('every target of an index built after the plan has a pack the channel allows', () => {
    const pack = fc.constantFrom(OLD, OLDER, PINNED, BASE);
    fc.assert(
      fc.property(
        fc.option(pack),
        fc.option(pack),
        fc.option(pack),
        fc.option(fc.integer({ min: 0, max: 16 })),
        fc.array(pack, { maxLength: 2 }),
        (pin, lkg, base, floor, revoked) => {
          const pins: Pin[] =
            pin === null ? [] : [{ cohort: null, pack: pin, expiresAt: at(1000), reason: 'p' }];
          const packs = { ...channel().packs, [BASE]: { sequence: 16 } };
          const ch = channel({ pins, lkg, base, floor, revoked, packs });
          const plan = planRollback(ch, NEW, now);
          if (plan.blocked !== null) return plan.to === null;
          const newBase = plan.to ?? base;
          if (newBase === null) return true;
          const index = buildChannelIndex({
            env: 'prod-eu',
            channel: 'stable',
            version: 1,
            issuedAt: now,
            ttlSeconds: 60,
            packs: Object.fromEntries(
              Object.entries(packs).map(([d, p]) => [d, { name: 'kb', version: '1', ...p }]),
            ),
            base: newBase,
            rollout: null,
            pins: [],
            floor,
            revoked,
            rollbackAuthorizations: [],
          });
          return desiredPack(index, { id: 't1', labels: {} }, now).pack === newBase;
        },
      ),
    );
  });

  it('the controller pauses with the reason instead of recording a rollback that lands nowhere', () => {
    const targets = ids(4);
    const rel = rolling();
    const ctx = context(rel, {
      channel: channel({ floor: 15 }),
      reports: reports(targets, now, { errorRate: 1 }),
      stageTargets: targets,
    });
    const result = decide(ctx, now);
    expect(result.release.state).toBe('paused');
    expect(result.release.pausedReason).toMatch(/health gate failed.*below the channel floor 15/);
    expect(result.actions).toEqual([]);
    expect(result.decisions.map((d) => d.rule)).toEqual(['rollback.blocked']);
    // recorded once: the next tick with the same facts decides nothing
    expect(decide({ ...ctx, release: result.release }, now).decisions).toEqual([]);
    // an authorization arrives: the next tick rolls back to the LKG
    const authorized = decide(
      {
        ...ctx,
        release: result.release,
        channel: channel({
          floor: 15,
          rollbackAuthorizations: [{ pack: OLD, reason: 'incident', expiresAt: at(1000) }],
        }),
      },
      now,
    );
    expect(authorized.release).toMatchObject({
      state: 'rolled_back',
      outcome: { rollbackTo: OLD },
    });
  });

  it('refuses an operator rollback with ROLLBACK_TARGET_NOT_ALLOWED, saying what would allow it', () => {
    const rel = rolling();
    let error: unknown;
    try {
      applyCommand(
        rel,
        { kind: 'rollback', actor: 'alice', reason: 'bad' },
        context(rel, { channel: channel({ floor: 15 }) }),
        now,
      );
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'ROLLBACK_TARGET_NOT_ALLOWED' });
    expect((error as Error).message).toMatch(/below the channel floor 15.*rollback-auth add/);
  });
});
