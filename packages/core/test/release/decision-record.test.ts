import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyCommand, decide, decisionDigest, replayDecision } from '../../src/release/index.ts';
import type { DecisionDraft } from '../../src/release/index.ts';
import { at, context, ids, release, reports, simplePlan } from './fixtures.ts';

const draft: DecisionDraft = {
  release: 'rel_1',
  at: at(0),
  kind: 'health',
  rule: 'gate.failed',
  actor: 'controller',
  reason: null,
  from: 'rolling',
  to: 'rolled_back',
  stageIndex: 0,
  inputs: { measured: 0.2, threshold: 0.05 },
  verdict: 'rolled_back',
};

describe('decisionDigest', () => {
  it('is the sha256 of the JCS bytes, so key order does not matter', () => {
    const reordered = Object.fromEntries(
      Object.entries(draft).reverse(),
    ) as unknown as DecisionDraft;
    expect(decisionDigest(reordered)).toBe(decisionDigest(draft));
    expect(decisionDigest(draft)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('changes when any input value changes', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (measured) => {
        fc.pre(!Object.is(measured, 0.2) && !Object.is(measured, -0));
        return (
          decisionDigest({ ...draft, inputs: { ...draft.inputs, measured } }) !==
          decisionDigest(draft)
        );
      }),
    );
  });
});

describe('replayDecision', () => {
  const targets = ids(4);
  const rel = release(simplePlan(), { state: 'rolling', stageStartedAt: at(0) });
  const ctx = context(rel, {
    reports: reports(targets, at(100), { errorRate: 0.5 }),
    stageTargets: targets,
  });

  it('re-runs decide on the recorded context and gets the same digests', () => {
    const recorded = decide(ctx, at(100)).decisions.map(decisionDigest);
    expect(recorded).toHaveLength(1);
    expect(
      replayDecision({ context: structuredClone(ctx), now: at(100), decisionDigests: recorded }),
    ).toEqual({ ok: true, expected: recorded, actual: recorded });
  });

  it('notices when the recorded inputs were not the ones decided on', () => {
    const recorded = decide(ctx, at(100)).decisions.map(decisionDigest);
    const altered = { ...ctx, reports: reports(targets, at(100), { errorRate: 0.6 }) };
    expect(replayDecision({ context: altered, now: at(100), decisionDigests: recorded }).ok).toBe(
      false,
    );
    expect(replayDecision({ context: ctx, now: at(101), decisionDigests: recorded }).ok).toBe(
      false,
    );
  });

  it('replays operator commands too', () => {
    const command = { kind: 'pause' as const, actor: 'bob', reason: 'looks odd' };
    const recorded = applyCommand(rel, command, ctx, at(50)).decisions.map(decisionDigest);
    expect(
      replayDecision({ context: ctx, now: at(50), command, decisionDigests: recorded }).ok,
    ).toBe(true);
    expect(
      replayDecision({
        context: ctx,
        now: at(50),
        command: { ...command, actor: 'eve' },
        decisionDigests: recorded,
      }).ok,
    ).toBe(false);
  });
});
