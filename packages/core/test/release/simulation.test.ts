import { describe, expect, it } from 'vitest';
import { BUILTIN_PLANS, replayDecision, decisionDigest } from '../../src/release/index.ts';
import type { FreezeWindow, HealthGateResult, Plan } from '../../src/release/index.ts';
import { NEW, OLD, at, runFleet } from './fixtures.ts';

const canary: Plan = structuredClone(BUILTIN_PLANS.canary);

describe('a whole canary plan under a simulated clock', () => {
  it('completes a healthy release, sets the LKG and base to its pack, and replays to the same digests', () => {
    const run = runFleet({ plan: canary, size: 200, errorRate: () => 0.01 });
    expect(run.release.state).toBe('completed');
    expect(run.lkg).toBe(NEW);
    expect(run.base).toBe(NEW);
    expect(
      run.actions
        .filter((a) => a.kind === 'setRollout')
        .map((a) => a.kind === 'setRollout' && a.percent),
    ).toEqual([10, 50, 100]);
    expect(run.actions.slice(-3).map((a) => a.kind)).toEqual(['setBase', 'setLkg', 'clearRollout']);
    // 10m + 30m + 30m of soak, one-minute ticks.
    expect(run.timeline.at(-1)).toEqual([4200, 'completed']);
    for (const tick of run.recorded.filter((r) => r.decisions.length > 0)) {
      const replay = replayDecision({
        context: tick.context,
        now: tick.now,
        decisionDigests: tick.decisions.map(decisionDigest),
      });
      expect(replay.ok).toBe(true);
    }
  });

  it('rolls a bad canary (20% errors) back to the previous LKG, with the measured value and threshold', () => {
    const run = runFleet({ plan: canary, size: 200, errorRate: () => 0.2 });
    expect(run.release.state).toBe('rolled_back');
    expect(run.release.stageIndex).toBe(0);
    expect(run.actions.at(-1)).toEqual({ kind: 'rollback', release: 'rel_1', pack: NEW, to: OLD });
    expect(run.base).toBe(OLD);
    expect(run.lkg).toBe(OLD);
    const decision = run.decisions.at(-1);
    expect(decision).toMatchObject({
      kind: 'health',
      rule: 'gate.failed',
      verdict: 'rolled_back',
      actor: 'controller',
    });
    const gates = decision?.inputs.gates as HealthGateResult[];
    expect(gates.find((g) => g.metric === 'error_rate')).toMatchObject({
      verdict: 'fail',
      measured: 0.2,
      threshold: 0.05,
      op: '<=',
    });
    expect(decision?.inputs.rollback).toEqual({ pin: null, lkg: OLD, revoked: [], to: OLD });
  });

  it('rolls back at the stage where errors start, not before', () => {
    const run = runFleet({
      plan: canary,
      size: 200,
      errorRate: (_id, stage) => (stage === 1 ? 0.2 : 0),
    });
    expect(run.release).toMatchObject({ state: 'rolled_back', stageIndex: 1 });
  });

  it('stays inconclusive on too little data and pauses at the progress deadline', () => {
    // Only a handful of requests per report: error_rate never reaches 100 samples in 5 minutes.
    const run = runFleet({
      plan: canary,
      size: 200,
      errorRate: () => 0,
      requestsPerReport: 1,
      maxTicks: 100,
    });
    expect(run.release.state).toBe('paused');
    expect(run.release.stageIndex).toBe(0);
    expect(run.release.pausedReason).toMatch(/gates inconclusive 1800s after the stage started/);
    // Stage 0 started at 0s; deadline 2 × 600 + 600 = 1800s.
    expect(run.timeline).toContainEqual([1800, 'paused']);
    const paused = run.decisions.at(-1);
    expect(paused).toMatchObject({ rule: 'gate.inconclusive_past_deadline', verdict: 'paused' });
    const gates = paused?.inputs.gates as HealthGateResult[];
    expect(gates.find((g) => g.metric === 'error_rate')?.verdict).toBe('inconclusive');
  });

  it('holds a stage during a freeze window and advances when it ends', () => {
    const freeze: FreezeWindow = {
      id: 'f',
      reason: 'launch day',
      kind: 'once',
      start: at(300),
      end: at(3000),
    };
    const run = runFleet({ plan: canary, size: 200, errorRate: () => 0, freezeWindows: [freeze] });
    expect(run.release.state).toBe('completed');
    const blocks = run.decisions.filter((d) => d.kind === 'freeze');
    expect(blocks).toHaveLength(1);
    expect(blocks[0]?.at).toBe(at(600));
    const advanced = run.decisions.find((d) => d.rule === 'stage.soak_complete');
    expect(advanced?.at).toBe(at(3000));
  });

  it('does not let a freeze window delay a rollback', () => {
    // The freeze begins after stage 0 has started; the canary's errors show up during it.
    const freeze: FreezeWindow = {
      id: 'f',
      reason: 'launch day',
      kind: 'once',
      start: at(30),
      end: at(100_000),
    };
    const run = runFleet({
      plan: canary,
      size: 200,
      errorRate: () => 0.5,
      freezeWindows: [freeze],
      maxTicks: 50,
    });
    expect(run.release.state).toBe('rolled_back');
    expect(run.timeline.at(-1)).toEqual([60, 'rolled_back']);
    expect(run.actions.at(-1)).toEqual({ kind: 'rollback', release: 'rel_1', pack: NEW, to: OLD });
  });
});
