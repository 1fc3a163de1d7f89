import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyCommand, decide, verifyReleaseCandidate } from '../../src/release/index.ts';
import type {
  DecideResult,
  FreezeWindow,
  ReleaseCommand,
  ReleaseContext,
  ReleaseState,
  ReleaseStatus,
} from '../../src/release/index.ts';
import {
  NEW,
  OLD,
  PINNED,
  at,
  channel,
  context,
  ids,
  pack,
  pointsAt,
  release,
  reports,
  simplePlan,
} from './fixtures.ts';

const freeze: FreezeWindow = {
  id: 'f1',
  reason: 'incident',
  kind: 'once',
  start: at(-60),
  end: at(3600),
};

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

function command(
  kind: ReleaseCommand['kind'],
  actor = 'bob',
  extra: Partial<ReleaseCommand> = {},
): ReleaseCommand {
  return { kind, actor, reason: `${kind} because`, ...extra };
}

describe('verifyReleaseCandidate', () => {
  it('passes an eligible, compatible, unrevoked pack above the floor with its evidence', () => {
    expect(verifyReleaseCandidate({ pack: pack(), channel: channel() }, at(0))).toEqual({
      ok: true,
      reasons: [],
    });
  });

  it('fails closed and reports every reason with its code', () => {
    const result = verifyReleaseCandidate(
      {
        pack: pack({
          eligible: false,
          eligibilityReasons: [{ code: 'BUILD_GATE_FAILED', message: 'gate lint failed' }],
          sequence: 3,
          requires: { runtime: '^3.0.0', schema: 'kb/2' },
          evidenceComplete: false,
        }),
        channel: channel({
          revoked: [NEW],
          constraints: { runtime: '>=2.3 <3', schema: 'kb/3', profile: 'default' },
        }),
      },
      at(0),
    );
    expect(result.ok).toBe(false);
    expect(result.reasons.map((r) => r.code)).toEqual([
      'RELEASE_NOT_ELIGIBLE',
      'BUILD_GATE_FAILED',
      'PACK_REVOKED',
      'PACK_INCOMPATIBLE',
      'PACK_INCOMPATIBLE',
      'PACK_INCOMPATIBLE',
      'RELEASE_BELOW_FLOOR',
      'EVIDENCE_MISSING',
    ]);
  });

  it('treats an unreadable runtime range as incompatible', () => {
    const result = verifyReleaseCandidate(
      { pack: pack({ requires: { runtime: 'latest' } }), channel: channel() },
      at(0),
    );
    expect(result.reasons).toEqual([expect.objectContaining({ code: 'PACK_INCOMPATIBLE' })]);
  });

  it('allows a pack below the floor only with an unexpired rollback authorization for it', () => {
    const below = { pack: pack({ sequence: 5 }) };
    const authorized = channel({
      rollbackAuthorizations: [{ pack: NEW, reason: 'bad 1.6', expiresAt: at(100) }],
    });
    expect(verifyReleaseCandidate({ ...below, channel: authorized }, at(0)).ok).toBe(true);
    expect(
      verifyReleaseCandidate({ ...below, channel: authorized }, at(100)).reasons[0]?.code,
    ).toBe('RELEASE_BELOW_FLOOR');
    const other = channel({
      rollbackAuthorizations: [{ pack: OLD, reason: 'x', expiresAt: at(100) }],
    });
    expect(verifyReleaseCandidate({ ...below, channel: other }, at(0)).ok).toBe(false);
  });

  it('refuses a context whose pack is not the release pack', () => {
    const result = verifyReleaseCandidate(
      { pack: pack({ digest: OLD }), channel: channel(), release: { pack: NEW, packSequence: 15 } },
      at(0),
    );
    expect(result.reasons[0]?.code).toBe('RELEASE_NOT_ELIGIBLE');
  });
});

describe('decide', () => {
  it('starts a requested release: verifying, then rolling stage 0 with a setRollout action', () => {
    const result = decide(context(release(simplePlan())), at(0));
    expect(result.decisions.map((d) => [d.rule, d.from, d.to])).toEqual([
      ['release.start', 'requested', 'verifying'],
      ['verification.passed', 'verifying', 'rolling'],
      ['stage.start', 'rolling', 'rolling'],
    ]);
    expect(result.actions).toEqual([
      {
        kind: 'setRollout',
        release: 'rel_1',
        pack: NEW,
        stageIndex: 0,
        stage: 's0',
        percent: 10,
        cohort: null,
      },
    ]);
    expect(result.release).toMatchObject({
      state: 'rolling',
      stageIndex: 0,
      stageStartedAt: at(0),
      version: 1,
      stageEnteredBy: 'controller',
    });
    expect(result.decisions.every((d) => d.actor === 'controller' && d.at === at(0))).toBe(true);
  });

  it('fails a release whose verification fails, with every reason and no action', () => {
    const result = decide(
      context(release(simplePlan()), {
        pack: pack({ evidenceComplete: false }),
        channel: channel({ revoked: [NEW] }),
      }),
      at(0),
    );
    expect(result.release.state).toBe('failed');
    expect(result.release.outcome?.reasons.map((r) => r.code)).toEqual([
      'PACK_REVOKED',
      'EVIDENCE_MISSING',
    ]);
    expect(result.actions).toEqual([]);
    expect(result.decisions.map((d) => [d.rule, d.from, d.to, d.verdict])).toEqual([
      ['release.start', 'requested', 'verifying', 'verifying'],
      ['verification.failed', 'verifying', 'failed', 'failed'],
    ]);
  });

  it('waits for the schedule without recording anything', () => {
    const rel = release(simplePlan(), { schedule: { notBefore: at(600) } });
    expect(decide(context(rel), at(599))).toEqual({ release: rel, actions: [], decisions: [] });
    expect(decide(context(rel), at(600)).release.state).toBe('rolling');
  });

  it('holds the start during a freeze, records the block once, and starts when it ends', () => {
    const rel = release(simplePlan());
    const first = decide(context(rel, { freezeWindows: [freeze] }), at(0));
    expect(first.release.state).toBe('requested');
    expect(first.decisions).toEqual([
      expect.objectContaining({ kind: 'freeze', rule: 'freeze.blocks_start', verdict: 'blocked' }),
    ]);
    expect(first.decisions[0]?.inputs.freeze).toEqual({
      id: 'f1',
      reason: 'incident',
      from: at(-60),
      until: at(3600),
    });
    expect(decide(context(first.release, { freezeWindows: [freeze] }), at(60)).decisions).toEqual(
      [],
    );
    const after = decide(context(first.release, { freezeWindows: [freeze] }), at(3600));
    expect(after.release.state).toBe('rolling');
    expect(after.release.blockedBy).toBeUndefined();
  });

  it('advances after the soak when every gate passes, but not before', () => {
    const rel = release(simplePlan(), { state: 'rolling', stageStartedAt: at(0) });
    const targets = ids(5);
    const ctx = (now: number) =>
      context(rel, { reports: reports(targets, at(now)), stageTargets: targets });
    expect(decide(ctx(599), at(599)).decisions).toEqual([]);
    const result = decide(ctx(600), at(600));
    expect(result.release).toMatchObject({
      stageIndex: 1,
      stageStartedAt: at(600),
      state: 'rolling',
    });
    expect(result.actions).toEqual([
      expect.objectContaining({ kind: 'setRollout', stageIndex: 1, percent: 100 }),
    ]);
    expect(result.decisions[0]).toMatchObject({ rule: 'stage.soak_complete', verdict: 'advanced' });
  });

  it('completes after the last soak with setBase, setLkg and clearRollout', () => {
    const rel = release(simplePlan(), { state: 'rolling', stageIndex: 1, stageStartedAt: at(0) });
    const targets = ids(5);
    const result = decide(
      context(rel, { reports: reports(targets, at(600)), stageTargets: targets }),
      at(600),
    );
    expect(result.release.state).toBe('completed');
    expect(result.actions).toEqual([
      { kind: 'setBase', release: 'rel_1', pack: NEW },
      { kind: 'setLkg', release: 'rel_1', pack: NEW },
      { kind: 'clearRollout', release: 'rel_1' },
    ]);
  });

  it('rolls back on a failing gate even during a freeze and while paused', () => {
    const targets = ids(5);
    for (const state of ['rolling', 'paused'] as const) {
      const rel = release(simplePlan(), { state, stageStartedAt: at(0) });
      const result = decide(
        context(rel, {
          reports: reports(targets, at(100), { errorRate: 0.3 }),
          stageTargets: targets,
          freezeWindows: [freeze],
        }),
        at(100),
      );
      expect(result.release.state).toBe('rolled_back');
      expect(result.actions).toEqual([{ kind: 'rollback', release: 'rel_1', pack: NEW, to: OLD }]);
    }
  });

  it('holds an advance during a freeze and records the block once', () => {
    const rel = release(simplePlan(), { state: 'rolling', stageStartedAt: at(0) });
    const targets = ids(5);
    const ctx = context(rel, {
      reports: reports(targets, at(600)),
      stageTargets: targets,
      freezeWindows: [freeze],
    });
    const first = decide(ctx, at(600));
    expect(first.release).toMatchObject({ stageIndex: 0, blockedBy: 'f1' });
    expect(first.decisions.map((d) => d.rule)).toEqual(['freeze.blocks_advance']);
    expect(first.actions).toEqual([]);
    expect(decide({ ...ctx, release: first.release }, at(600)).decisions).toEqual([]);
  });

  it('rolls back when the pack is revoked during the rollout', () => {
    const rel = release(simplePlan(), { state: 'rolling', stageIndex: 1, stageStartedAt: at(0) });
    const result = decide(context(rel, { channel: channel({ revoked: [NEW] }) }), at(10));
    expect(result.release.state).toBe('rolled_back');
    expect(result.decisions[0]).toMatchObject({ rule: 'verification.failed_during_rollout' });
    expect(result.actions).toEqual([{ kind: 'rollback', release: 'rel_1', pack: NEW, to: OLD }]);
  });

  it('clears the rollout when a gate fails and there is nothing to roll back to', () => {
    const targets = ids(3);
    const rel = release(simplePlan(), { state: 'rolling', stageStartedAt: at(0) });
    const result = decide(
      context(rel, {
        channel: channel({ lkg: null }),
        reports: reports(targets, at(10), { errorRate: 1 }),
        stageTargets: targets,
      }),
      at(10),
    );
    expect(result.release.outcome?.rollbackTo).toBeNull();
    expect(result.actions).toEqual([{ kind: 'clearRollout', release: 'rel_1' }]);
  });

  it('refuses a release whose stage index is outside its plan', () => {
    expect(codeOf(() => decide(context(release(simplePlan(), { stageIndex: 5 })), at(0)))).toBe(
      'RELEASE_STATE_INVALID',
    );
  });
});

describe('approvals', () => {
  const plan = simplePlan([{ approvals: 2 }, {}]);

  it('waits for N distinct approvers who are not the requester, then starts the stage', () => {
    const rel = release(plan);
    const waiting = decide(context(rel), at(0));
    expect(waiting.release).toMatchObject({ state: 'rolling', stageStartedAt: null });
    expect(waiting.actions).toEqual([]);
    const ctx = (r: ReleaseState): ReleaseContext => context(r);

    expect(
      codeOf(() =>
        applyCommand(waiting.release, command('approve', 'alice'), ctx(waiting.release), at(10)),
      ),
    ).toBe('APPROVAL_SELF');
    const one = applyCommand(
      waiting.release,
      command('approve', 'bob'),
      ctx(waiting.release),
      at(10),
    );
    expect(one.decisions[0]).toMatchObject({
      kind: 'approval',
      actor: 'bob',
      reason: 'approve because',
      verdict: 'approval_recorded',
    });
    expect(
      codeOf(() => applyCommand(one.release, command('approve', 'bob'), ctx(one.release), at(20))),
    ).toBe('APPROVAL_DUPLICATE');
    expect(decide(ctx(one.release), at(20)).decisions).toEqual([]);

    const two = applyCommand(one.release, command('approve', 'carol'), ctx(one.release), at(30));
    expect(two.decisions[0]?.verdict).toBe('approvals_met');
    const started = decide(ctx(two.release), at(40));
    expect(started.release.stageStartedAt).toBe(at(40));
    expect(started.decisions[0]?.rule).toBe('approvals.met');
    expect(started.decisions[0]?.inputs.approvers).toEqual(['bob', 'carol']);
    expect(started.actions).toEqual([
      expect.objectContaining({ kind: 'setRollout', stageIndex: 0 }),
    ]);
  });

  it('accepts approvals before verification, for stage 0', () => {
    const rel = release(plan);
    const approved = applyCommand(rel, command('approve', 'bob'), context(rel), at(0));
    const twice = applyCommand(
      approved.release,
      command('approve', 'dan'),
      context(approved.release),
      at(0),
    );
    expect(decide(context(twice.release), at(1)).actions).toEqual([
      expect.objectContaining({ kind: 'setRollout', stageIndex: 0 }),
    ]);
  });

  it('aborts the release on reject', () => {
    const rel = decide(context(release(plan)), at(0)).release;
    const result = applyCommand(rel, command('reject', 'bob'), context(rel), at(5));
    expect(result.release.state).toBe('aborted');
    expect(result.decisions[0]).toMatchObject({
      rule: 'command.reject',
      actor: 'bob',
      reason: 'reject because',
    });
    expect(result.actions).toEqual([]);
  });

  it('refuses approve and reject when no stage needs approval', () => {
    const rel = release(simplePlan(), { state: 'rolling', stageStartedAt: at(0) });
    expect(codeOf(() => applyCommand(rel, command('approve'), context(rel), at(1)))).toBe(
      'RELEASE_STATE_INVALID',
    );
    expect(codeOf(() => applyCommand(rel, command('reject'), context(rel), at(1)))).toBe(
      'RELEASE_STATE_INVALID',
    );
  });
});

describe('applyCommand', () => {
  const rolling = release(simplePlan([{}, {}, {}]), { state: 'rolling', stageStartedAt: at(0) });

  it('pauses and resumes, restarting the soak on resume', () => {
    const paused = applyCommand(rolling, command('pause'), context(rolling), at(100));
    expect(paused.release).toMatchObject({
      state: 'paused',
      pausedReason: 'pause because',
      version: 1,
    });
    expect(
      decide(
        context(paused.release, { reports: reports(['a'], at(700)), stageTargets: ['a'] }),
        at(700),
      ).decisions,
    ).toEqual([]);
    const resumed = applyCommand(
      paused.release,
      command('resume'),
      context(paused.release),
      at(700),
    );
    expect(resumed.release).toMatchObject({ state: 'rolling', stageStartedAt: at(700) });
    expect(resumed.release.pausedReason).toBeUndefined();
  });

  it('promotes to the next stage, or to the last with full, recording who entered it', () => {
    const next = applyCommand(rolling, command('promote'), context(rolling), at(10));
    expect(next.release).toMatchObject({
      stageIndex: 1,
      stageStartedAt: at(10),
      stageEnteredBy: 'bob',
    });
    expect(next.actions).toEqual([expect.objectContaining({ kind: 'setRollout', percent: 50 })]);
    const full = applyCommand(
      rolling,
      command('promote', 'bob', { full: true }),
      context(rolling),
      at(10),
    );
    expect(full.release.stageIndex).toBe(2);
    const done = applyCommand(full.release, command('promote'), context(full.release), at(20));
    expect(done.release.state).toBe('completed');
    expect(done.actions.map((a) => a.kind)).toEqual(['setBase', 'setLkg', 'clearRollout']);
  });

  it('refuses to promote during a freeze or while a gate fails', () => {
    expect(
      codeOf(() =>
        applyCommand(
          rolling,
          command('promote'),
          context(rolling, { freezeWindows: [freeze] }),
          at(10),
        ),
      ),
    ).toBe('FREEZE_ACTIVE');
    const failing = context(rolling, {
      reports: reports(['a'], at(10), { errorRate: 0.5 }),
      stageTargets: ['a'],
    });
    expect(codeOf(() => applyCommand(rolling, command('promote'), failing, at(10)))).toBe(
      'RELEASE_STATE_INVALID',
    );
  });

  it('rolls back to the pin, else the LKG, and refuses when there is neither', () => {
    const pinned = channel({
      pins: [{ cohort: null, pack: PINNED, expiresAt: at(1000), reason: 'hold' }],
    });
    expect(
      applyCommand(rolling, command('rollback'), context(rolling, { channel: pinned }), at(10))
        .actions,
    ).toEqual([{ kind: 'rollback', release: 'rel_1', pack: NEW, to: PINNED }]);
    expect(
      applyCommand(rolling, command('rollback'), context(rolling, { channel: pinned }), at(1000))
        .actions,
    ).toEqual([{ kind: 'rollback', release: 'rel_1', pack: NEW, to: OLD }]);
    const result = applyCommand(
      rolling,
      command('rollback'),
      context(rolling, { freezeWindows: [freeze] }),
      at(10),
    );
    expect(result.release).toMatchObject({ state: 'rolled_back', outcome: { rollbackTo: OLD } });
    expect(
      codeOf(() =>
        applyCommand(
          rolling,
          command('rollback'),
          context(rolling, { channel: channel({ lkg: null }) }),
          at(10),
        ),
      ),
    ).toBe('ROLLBACK_TARGET_MISSING');
    expect(
      codeOf(() =>
        applyCommand(
          rolling,
          command('rollback'),
          context(rolling, { channel: channel({ lkg: NEW }) }),
          at(10),
        ),
      ),
    ).toBe('ROLLBACK_TARGET_MISSING');
  });

  it('aborts, clearing the rollout only when something was rolled out', () => {
    expect(applyCommand(rolling, command('abort'), context(rolling), at(10)).actions).toEqual([
      { kind: 'clearRollout', release: 'rel_1' },
    ]);
    const requested = release(simplePlan());
    expect(applyCommand(requested, command('abort'), context(requested), at(10)).actions).toEqual(
      [],
    );
  });

  it('retries a failed release by verifying it again', () => {
    const failed = decide(
      context(release(simplePlan()), { pack: pack({ evidenceComplete: false }) }),
      at(0),
    ).release;
    const retried = applyCommand(failed, command('retry'), context(failed), at(10));
    expect(retried.release.state).toBe('requested');
    expect(retried.release.outcome).toBeUndefined();
    expect(decide(context(retried.release), at(20)).release.state).toBe('rolling');
  });

  it.each([
    ['pause', 'paused'],
    ['resume', 'rolling'],
    ['promote', 'requested'],
    ['rollback', 'requested'],
    ['retry', 'rolling'],
    ['abort', 'completed'],
    ['approve', 'failed'],
  ] as const)('refuses %s in state %s with RELEASE_STATE_INVALID', (kind, state) => {
    const rel = release(simplePlan([{ approvals: 1 }, {}]), {
      state,
      stageStartedAt: state === 'paused' || state === 'rolling' ? at(0) : null,
    });
    expect(codeOf(() => applyCommand(rel, command(kind), context(rel), at(10)))).toBe(
      'RELEASE_STATE_INVALID',
    );
  });

  it('refuses a command without actor or reason', () => {
    expect(
      codeOf(() =>
        applyCommand(rolling, { kind: 'pause', actor: '', reason: 'x' }, context(rolling), at(1)),
      ),
    ).toBe('VALIDATION_FAILED');
    expect(
      codeOf(() =>
        applyCommand(
          rolling,
          { kind: 'pause', actor: 'bob', reason: ' ' },
          context(rolling),
          at(1),
        ),
      ),
    ).toBe('VALIDATION_FAILED');
  });

  it('records actor and reason in the decision of every accepted command', () => {
    const paused = applyCommand(rolling, command('pause', 'erin'), context(rolling), at(1));
    expect(paused.decisions).toEqual([
      expect.objectContaining({
        kind: 'command',
        rule: 'command.pause',
        actor: 'erin',
        reason: 'pause because',
        from: 'rolling',
        to: 'paused',
      }),
    ]);
  });
});

// Random contexts for the invariants below.
const statuses: ReleaseStatus[] = [
  'requested',
  'verifying',
  'rolling',
  'paused',
  'completed',
  'rolled_back',
  'aborted',
  'failed',
];
const arbContext = fc
  .record({
    state: fc.constantFrom(...statuses),
    stages: fc.integer({ min: 1, max: 3 }),
    stageIndex: fc.nat(2),
    started: fc.option(fc.integer({ min: 0, max: 4000 })),
    approvalsNeeded: fc.nat(2),
    approvers: fc.subarray(['bob', 'carol', 'dan']),
    eligible: fc.boolean(),
    revoked: fc.boolean(),
    evidence: fc.boolean(),
    sequence: fc.integer({ min: 0, max: 20 }),
    runtime: fc.constantFrom('^2.3.0', '^2.4.0', '^3.0.0', 'garbage'),
    lkg: fc.constantFrom(OLD, null, NEW),
    frozen: fc.boolean(),
    errorRate: fc.constantFrom(0, 0.01, 0.3),
    targets: fc.nat(8),
    requests: fc.constantFrom(1, 100),
    now: fc.integer({ min: 0, max: 5000 }),
  })
  .map((r) => {
    const plan = simplePlan(
      Array.from({ length: r.stages }, () => ({ approvals: r.approvalsNeeded, soakSeconds: 300 })),
    );
    const stageIndex = Math.min(r.stageIndex, r.stages - 1);
    const rel = release(plan, {
      state: r.state,
      stageIndex,
      stageStartedAt: r.started === null ? null : at(Math.min(r.started, r.now)),
      approvals: r.approvers.map((actor) => ({ stage: stageIndex, actor, at: at(0) })),
    });
    const targets = ids(r.targets);
    const ctx = context(rel, {
      pack: pack({
        eligible: r.eligible,
        evidenceComplete: r.evidence,
        sequence: r.sequence,
        requires: { runtime: r.runtime },
      }),
      channel: channel({ lkg: r.lkg, revoked: r.revoked ? [NEW] : [] }),
      reports: reports(targets, at(r.now), { errorRate: r.errorRate, requests: r.requests }),
      stageTargets: targets,
      freezeWindows: r.frozen
        ? [{ id: 'f', reason: 'r', kind: 'once', start: at(0), end: at(100_000) }]
        : [],
    });
    return { ctx: { ...ctx, release: { ...rel, packSequence: r.sequence } }, now: at(r.now) };
  });

function step(ctx: ReleaseContext, now: string, cmd: ReleaseCommand | null): DecideResult | null {
  try {
    return cmd === null ? decide(ctx, now) : applyCommand(ctx.release, cmd, ctx, now);
  } catch (error) {
    if ((error as { code?: string }).code !== undefined) return null;
    throw error;
  }
}

describe('decide invariants', () => {
  it('is idempotent: deciding again on its own output changes nothing and records nothing', () => {
    fc.assert(
      fc.property(arbContext, ({ ctx, now }) => {
        const first = decide(ctx, now);
        const second = decide({ ...ctx, release: first.release }, now);
        expect(second.decisions).toEqual([]);
        expect(second.actions).toEqual([]);
        expect(second.release).toEqual(first.release);
      }),
      { numRuns: 300 },
    );
  });

  it('writes one decision per change and bumps the version exactly when something changed', () => {
    fc.assert(
      fc.property(arbContext, ({ ctx, now }) => {
        const result = decide(ctx, now);
        const changed = JSON.stringify(result.release) !== JSON.stringify(ctx.release);
        expect(result.release.version).toBe(ctx.release.version + (changed ? 1 : 0));
        expect(result.decisions.length > 0).toBe(changed);
      }),
      { numRuns: 300 },
    );
  });

  it('never points a target at a pack after its verification failed, whatever commands follow', () => {
    const commands = fc.array(
      fc.option(
        fc.constantFrom<ReleaseCommand['kind']>(
          'pause',
          'resume',
          'abort',
          'promote',
          'approve',
          'reject',
          'retry',
          'rollback',
        ),
        { nil: null },
      ),
      { maxLength: 8 },
    );
    fc.assert(
      fc.property(arbContext, commands, ({ ctx, now }, kinds) => {
        const start: ReleaseContext = {
          ...ctx,
          release: { ...ctx.release, state: 'verifying', stageIndex: 0, stageStartedAt: null },
        };
        const verified = verifyReleaseCandidate({ ...start, release: start.release }, now);
        fc.pre(!verified.ok);
        let current = decide(start, now);
        expect(current.release.state).toBe('failed');
        const actions = [...current.actions];
        let t = Date.parse(now);
        for (const kind of kinds) {
          t += 60_000;
          const next = step(
            { ...start, release: current.release },
            new Date(t).toISOString(),
            kind === null ? null : command(kind, kind === 'approve' ? 'zed' : 'bob'),
          );
          if (next !== null) {
            current = next;
            actions.push(...next.actions);
          }
        }
        expect(actions.filter((a) => pointsAt(a, NEW))).toEqual([]);
        expect(
          current.release.state === 'failed' ||
            current.release.state === 'requested' ||
            current.release.state === 'aborted',
        ).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
