import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bucket,
  buildChannelIndex,
  cohortSaltOf,
  decide,
  desiredPack,
  inPercent,
  reachPercent,
  stageRollout,
  stageRefusals,
} from '../../src/release/index.ts';
import type { Pin, TargetReport, TargetRef } from '../../src/release/index.ts';
import { NEW, OLD, at, channel, context, ids, release, reports, simplePlan } from './fixtures.ts';

const PACKS = {
  [NEW]: { name: 'kb', version: '1.5.0', sequence: 15 },
  [OLD]: { name: 'kb', version: '1.4.0', sequence: 14 },
};

function indexWith(rollout: ReturnType<typeof stageRollout> | null, pins: Pin[] = []) {
  return buildChannelIndex({
    env: 'prod-eu',
    channel: 'stable',
    version: 1,
    issuedAt: at(0),
    ttlSeconds: 3600,
    packs: PACKS,
    base: OLD,
    rollout,
    pins,
    floor: null,
    revoked: [],
    rollbackAuthorizations: [],
  });
}

function reached(
  rollout: ReturnType<typeof stageRollout>,
  targets: readonly TargetRef[],
): string[] {
  const index = indexWith(rollout);
  return targets.filter((t) => desiredPack(index, t, at(1)).pack === NEW).map((t) => t.id);
}

describe('a stage reaches at least one target', () => {
  it('raises the percent just enough to reach the candidate with the smallest bucket', () => {
    // find a salt for which 10% of these 10 targets is empty
    const targets = ids(10);
    let salt = '';
    for (let i = 0; i < 10_000 && salt === ''; i += 1) {
      if (targets.every((t) => !inPercent(`rel_${i}`, t, 10))) salt = `rel_${i}`;
    }
    expect(salt).not.toBe('');
    const percent = reachPercent(salt, 10, targets);
    expect(percent).toBeGreaterThan(10);
    const smallest = Math.min(...targets.map((t) => bucket(salt, t)));
    expect(targets.filter((t) => inPercent(salt, t, percent))).toEqual(
      targets.filter((t) => bucket(salt, t) === smallest),
    );
  });

  it('keeps the stage percent when it already reaches a candidate, or there is none', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.integer({ min: 0, max: 40 }), (salt, n) => {
        const targets = ids(n);
        const p = reachPercent(salt, 10, targets);
        const plain = targets.filter((t) => inPercent(salt, t, 10));
        if (plain.length > 0 || n === 0) return p === 10;
        return targets.filter((t) => inPercent(salt, t, p)).length >= 1;
      }),
    );
  });

  it('stays sticky and nested: every target reached at a stage is reached at every later one', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 2, maxLength: 4 }),
        (salt, n, raw) => {
          const targets = ids(n);
          const percents = [...raw].sort((a, b) => a - b);
          let before: string[] = [];
          for (const p of percents) {
            const now = targets.filter((t) => inPercent(salt, t, reachPercent(salt, p, targets)));
            if (now.length === 0 || !before.every((t) => now.includes(t))) return false;
            before = now;
          }
          return true;
        },
      ),
    );
  });

  it('decide starts a 10% stage of a small channel with a percent that reaches someone', () => {
    const targets: TargetRef[] = ids(3).map((id) => ({ id, labels: {} }));
    for (let i = 0; i < 50; i += 1) {
      const rel = release(simplePlan(), { id: `rel_${i}`, state: 'rolling', stageStartedAt: null });
      const result = decide(context(rel, { targets }), at(0));
      const action = result.actions.find((a) => a.kind === 'setRollout');
      expect(action?.kind).toBe('setRollout');
      if (action?.kind !== 'setRollout') return;
      const rollout = stageRollout(action, { env: 'prod-eu', channel: 'stable', cohorts: [] });
      expect(reached(rollout, targets).length).toBeGreaterThanOrEqual(1);
    }
  });

  it('does not count targets a pin holds as candidates', () => {
    const targets: TargetRef[] = [
      { id: 'held', labels: { tier: 'gold' } },
      { id: 'free', labels: {} },
    ];
    const pins: Pin[] = [
      { cohort: { matchLabels: { tier: 'gold' } }, pack: OLD, expiresAt: at(999), reason: 'x' },
    ];
    for (let i = 0; i < 30; i += 1) {
      const rel = release(simplePlan(), { id: `rel_${i}`, state: 'rolling', stageStartedAt: null });
      const result = decide(context(rel, { targets, channel: channel({ pins }) }), at(0));
      const action = result.actions.find((a) => a.kind === 'setRollout');
      if (action?.kind !== 'setRollout') throw new Error('no setRollout');
      expect(inPercent(rel.id, 'free', action.percent)).toBe(true);
    }
  });
});

describe('percentage cohorts', () => {
  const cohorts = [
    { name: 'early', percent: 20 },
    { name: 'eu-half', selector: { matchLabels: { region: 'eu' } }, percent: 50 },
  ];
  const fleet: TargetRef[] = ids(400).map((id, i) => ({
    id,
    labels: { region: i % 2 === 0 ? 'eu' : 'us' },
  }));
  const salt = cohortSaltOf('prod-eu', 'stable');

  it('a stage on a percentage cohort reaches exactly that cohort (at 100% of it)', () => {
    const rollout = stageRollout(
      { release: 'rel_1', pack: NEW, percent: 100, cohort: 'early' },
      { env: 'prod-eu', channel: 'stable', cohorts },
    );
    const expected = fleet.filter((t) => inPercent(salt, t.id, 20)).map((t) => t.id);
    expect(reached(rollout, fleet)).toEqual(expected);
    expect(expected.length).toBeGreaterThan(40);
    expect(expected.length).toBeLessThan(120);
  });

  it('selector and percentage combine, and the cohort is the same across releases', () => {
    const a = stageRollout(
      { release: 'rel_a', pack: NEW, percent: 100, cohort: 'eu-half' },
      { env: 'prod-eu', channel: 'stable', cohorts },
    );
    const b = stageRollout(
      { release: 'rel_b', pack: NEW, percent: 100, cohort: 'eu-half' },
      { env: 'prod-eu', channel: 'stable', cohorts },
    );
    const inA = reached(a, fleet);
    expect(inA).toEqual(reached(b, fleet));
    for (const id of inA) expect(fleet.find((t) => t.id === id)?.labels.region).toBe('eu');
  });

  it('a pin on a percentage cohort holds the same targets a stage on it reaches', () => {
    const pins: Pin[] = [
      { cohort: {}, bucket: { salt, percent: 20 }, pack: OLD, expiresAt: at(999), reason: 'hold' },
    ];
    const rollout = stageRollout(
      { release: 'rel_1', pack: NEW, percent: 100, cohort: null },
      { env: 'prod-eu', channel: 'stable', cohorts },
    );
    const index = indexWith(rollout, pins);
    for (const t of fleet) {
      const expected = inPercent(salt, t.id, 20) ? 'pin' : 'rollout';
      expect(desiredPack(index, t, at(1)).reason).toBe(expected);
    }
  });
});

describe('agent refusals count against the stage', () => {
  const targets = ids(5);
  const refusal = (id: string, code: string, when: string): TargetReport => ({
    targetId: id,
    at: when,
    activePack: OLD,
    lastAttempt: { kind: 'verify', pack: NEW, result: 'failed', code, at: when },
  });

  it('rolls back at the first tick a stage target refuses to verify the pack, with code and count', () => {
    const rel = release(simplePlan(), { state: 'rolling', stageStartedAt: at(0) });
    const result = decide(
      context(rel, {
        stageTargets: targets,
        reports: [
          refusal(targets[0] ?? '', 'PACK_INCOMPATIBLE', at(5)),
          refusal(targets[1] ?? '', 'PACK_INCOMPATIBLE', at(6)),
          refusal(targets[2] ?? '', 'RELEASE_BELOW_FLOOR', at(6)),
        ],
      }),
      at(10),
    );
    expect(result.release.state).toBe('rolled_back');
    expect(result.decisions[0]?.rule).toBe('stage.refused');
    expect(result.release.outcome?.summary).toBe(
      'agents refused the pack: PACK_INCOMPATIBLE on 2 target(s), RELEASE_BELOW_FLOOR on 1 target(s)',
    );
    expect(result.release.outcome?.reasons.map((r) => r.code)).toEqual([
      'PACK_INCOMPATIBLE',
      'RELEASE_BELOW_FLOOR',
    ]);
  });

  it('ignores refusals from before the stage started, of other packs, or since retried', () => {
    const rel = release(simplePlan(), { state: 'rolling', stageStartedAt: at(100) });
    const t = targets[0] ?? '';
    const old = refusal(t, 'PACK_INCOMPATIBLE', at(50));
    const other: TargetReport = {
      ...refusal(targets[1] ?? '', 'PACK_INCOMPATIBLE', at(150)),
      lastAttempt: { kind: 'verify', pack: OLD, result: 'failed', code: 'X', at: at(150) },
    };
    const retried = [
      refusal(targets[2] ?? '', 'PACK_FILE_HASH_MISMATCH', at(150)),
      ...reports([targets[2] ?? ''], at(160)),
    ];
    const ctx = context(rel, { stageTargets: targets, reports: [old, other, ...retried] });
    expect(stageRefusals(ctx, rel)).toEqual({ failing: false, summary: [] });
  });

  it('leaves failed activations to an activation_success_rate gate when the stage has one', () => {
    const plan = simplePlan([
      {
        gates: [
          {
            metric: 'activation_success_rate',
            op: '>=',
            threshold: 0.5,
            windowSeconds: 300,
            minTargets: 1,
            minSamples: 1,
          },
        ],
      },
      {},
    ]);
    const rel = release(plan, { state: 'rolling', stageStartedAt: at(0) });
    const failedActivation: TargetReport = {
      targetId: targets[0] ?? '',
      at: at(5),
      activePack: OLD,
      lastAttempt: { kind: 'activate', pack: NEW, result: 'failed', code: 'HEALTH', at: at(5) },
    };
    const ctx = context(rel, {
      stageTargets: targets,
      reports: [failedActivation, ...reports(targets.slice(1), at(6))],
    });
    expect(stageRefusals(ctx, rel).failing).toBe(false);
    const withoutGate = release(simplePlan(), { state: 'rolling', stageStartedAt: at(0) });
    expect(stageRefusals({ ...ctx, release: withoutGate }, withoutGate).failing).toBe(true);
  });
});
