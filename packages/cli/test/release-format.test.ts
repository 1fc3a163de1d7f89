import { describe, expect, it } from 'vitest';
import { BUILTIN_PLANS } from '@lockgate/core';
import type { Plan } from '@lockgate/core';
import type { DecisionRecordView, ReleaseView } from '@lockgate/api';
import {
  formatDecisionRecord,
  formatGateResult,
  formatPrometheusAnswer,
  formatReleaseStatus,
  releaseProgress,
} from '../src/release-format.ts';

const PACK = `sha256:${'c'.repeat(64)}`;
const LKG = `sha256:${'d'.repeat(64)}`;

function record(patch: Partial<DecisionRecordView>): DecisionRecordView {
  return {
    seq: 1,
    id: 'dec_1',
    release: 'rel_1',
    env: 'prod-eu',
    channel: 'stable',
    at: '2026-11-23T10:00:00.000Z',
    kind: 'command',
    rule: 'command.pause',
    actor: 'admin',
    reason: null,
    from: 'rolling',
    to: 'paused',
    stageIndex: 0,
    inputs: {},
    verdict: 'paused',
    holder: null,
    digest: `sha256:${'e'.repeat(64)}`,
    prevDigest: null,
    coreVersion: null,
    ...patch,
  };
}

function release(patch: Partial<ReleaseView>): ReleaseView {
  return {
    id: 'rel_1',
    env: 'prod-eu',
    channel: 'stable',
    pack: PACK,
    packSequence: 2,
    basePack: LKG,
    plan: structuredClone<Plan>(BUILTIN_PLANS.canary),
    state: 'rolling',
    stageIndex: 0,
    stageStartedAt: '2026-11-23T10:00:00.000Z',
    approvals: [],
    requestedBy: 'alice',
    reason: 'new index',
    version: 3,
    createdAt: '2026-11-23T09:59:00.000Z',
    updatedAt: '2026-11-23T10:00:00.000Z',
    currentStage: {
      name: 'canary',
      percent: 10,
      cohort: null,
      startedAt: '2026-11-23T10:00:00.000Z',
      soakSeconds: 600,
    },
    ...patch,
  };
}

describe('gate results', () => {
  it('shows a failed gate as the relation that held instead, with targets and samples', () => {
    expect(
      formatGateResult({
        metric: 'error_rate',
        verdict: 'fail',
        measured: 0.2,
        threshold: 0.05,
        op: '<=',
        targets: 10,
        samples: 1000,
        reasons: [],
      }),
    ).toBe('error_rate 0.200 > 0.050 (targets 10, samples 1000)');
  });

  it('shows a passing gate with its own relation and whole numbers as they are', () => {
    expect(
      formatGateResult({
        metric: 'latency_p95_ms',
        verdict: 'pass',
        measured: 120,
        threshold: 300,
        op: '<',
        targets: 3,
        samples: 3,
        reasons: [],
      }),
    ).toBe('latency_p95_ms 120 < 300 (targets 3, samples 3)');
  });

  it('says when a gate is inconclusive, also without a measure', () => {
    expect(
      formatGateResult({
        metric: 'activation_success_rate',
        verdict: 'inconclusive',
        measured: null,
        threshold: 0.95,
        op: '>=',
        targets: 0,
        samples: 0,
        reasons: ['no data'],
      }),
    ).toBe('activation_success_rate n/a inconclusive, needs >= 0.950 (targets 0, samples 0)');
  });
});

describe('prometheus gate answers', () => {
  const gate = {
    metric: 'prometheus' as const,
    verdict: 'fail' as const,
    measured: 0.3,
    threshold: 0.05,
    op: '<=' as const,
    targets: 2,
    samples: 2,
    provider: 'prometheus' as const,
    query: 'max by (region) (err{target=~"t-1|t-2"})',
    answer: {
      at: '2026-11-23T10:00:00.000Z',
      status: 'success' as const,
      series: [
        { labels: { region: 'eu' }, value: '0.3' },
        { labels: { region: 'us' }, value: '0.01' },
      ],
    },
    reasons: [
      'answer of 2026-11-23T10:00:00.000Z, recorded in decision 7 at 2026-11-23T10:00:01.000Z',
    ],
  };

  it('prints the query, the recorded answer with its series and time, and where it was recorded', () => {
    expect(formatPrometheusAnswer(gate)).toEqual([
      '      query  max by (region) (err{target=~"t-1|t-2"})',
      '      answer success at 2026-11-23T10:00:00.000Z: {region="eu"} 0.3, {region="us"} 0.01',
      '      answer of 2026-11-23T10:00:00.000Z, recorded in decision 7 at 2026-11-23T10:00:01.000Z',
    ]);
  });

  it('says when the answer had no series, and prints nothing under other gates', () => {
    const empty = { ...gate, answer: { ...gate.answer, series: [] }, reasons: [] };
    expect(formatPrometheusAnswer(empty)[1]).toBe(
      '      answer success at 2026-11-23T10:00:00.000Z: no series',
    );
    const { provider: _provider, query: _query, answer: _answer, ...builtin } = gate;
    expect(formatPrometheusAnswer({ ...builtin, metric: 'error_rate' })).toEqual([]);
  });
});

describe('decision records', () => {
  it('prints time, kind, rule, from→to, actor and reason of a command on one line', () => {
    expect(formatDecisionRecord(record({ reason: 'investigating' }))).toBe(
      '2026-11-23T10:00:00.000Z  command  command.pause  rolling→paused  by admin  "investigating"',
    );
  });

  it('marks the record that created the release, and leaves out approvals nobody needs', () => {
    expect(
      formatDecisionRecord(
        record({ rule: 'release.create', from: null, to: 'requested', verdict: 'requested' }),
      ),
    ).toBe('2026-11-23T10:00:00.000Z  command  release.create  (new)→requested  by admin');
    expect(
      formatDecisionRecord(
        record({
          kind: 'stage',
          rule: 'stage.start',
          actor: 'controller',
          from: 'rolling',
          to: 'rolling',
          verdict: 'started',
          inputs: {
            stage: { index: 0, name: 'canary', percent: 10, cohort: null },
            approvers: [],
            approvalsNeeded: 0,
          },
        }),
      ),
    ).toBe(
      '2026-11-23T10:00:00.000Z  stage  stage.start  rolling→rolling (started)  by controller  stage 1 canary 10%',
    );
  });

  it('prints the measured value against the threshold and the rollback of a health decision', () => {
    const line = formatDecisionRecord(
      record({
        kind: 'health',
        rule: 'gate.failed',
        actor: 'controller',
        from: 'rolling',
        to: 'rolled_back',
        verdict: 'rolled_back',
        inputs: {
          stage: { index: 0, name: 'canary', percent: 10, cohort: null },
          gates: [
            {
              metric: 'error_rate',
              verdict: 'fail',
              measured: 0.2,
              threshold: 0.05,
              op: '<=',
              targets: 10,
              samples: 1000,
              reasons: [],
            },
          ],
          rollback: { pin: null, lkg: LKG, revoked: [], to: LKG },
          context: 'sha256:0',
        },
      }),
    );
    expect(line).toBe(
      `2026-11-23T10:00:00.000Z  health  gate.failed  rolling→rolled_back  by controller  stage 1 canary 10%; error_rate 0.200 > 0.050 (targets 10, samples 1000); rollback to ${LKG}`,
    );
    expect(line).not.toContain('\n');
  });

  it('shows the verdict when it differs from the state, and approvals and verification reasons', () => {
    expect(
      formatDecisionRecord(
        record({
          kind: 'approval',
          rule: 'command.approve',
          actor: 'bob',
          reason: 'looks good',
          from: 'rolling',
          to: 'rolling',
          verdict: 'approval_recorded',
          inputs: {
            stage: { index: 1, name: 'half', percent: 50, cohort: 'eu' },
            approvers: ['bob'],
            approvalsNeeded: 2,
          },
        }),
      ),
    ).toBe(
      '2026-11-23T10:00:00.000Z  approval  command.approve  rolling→rolling (approval_recorded)  by bob  "looks good"  stage 2 half 50% of cohort eu; approvals 1/2 (bob)',
    );
    expect(
      formatDecisionRecord(
        record({
          kind: 'verification',
          rule: 'verification.failed',
          actor: 'controller',
          from: 'verifying',
          to: 'failed',
          verdict: 'failed',
          inputs: { reasons: [{ code: 'PACK_REVOKED', message: `pack ${PACK} is revoked` }] },
        }),
      ),
    ).toContain(`by controller  PACK_REVOKED: pack ${PACK} is revoked`);
  });
});

describe('agent refusals and blocked rollbacks in the timeline', () => {
  it('prints each refusal code with its number of targets, and a blocked rollback with why', () => {
    const refused = formatDecisionRecord(
      record({
        kind: 'health',
        rule: 'stage.refused',
        from: 'rolling',
        to: 'rolled_back',
        actor: 'controller',
        inputs: {
          refusals: [
            { kind: 'verify', code: 'PACK_INCOMPATIBLE', targets: 2 },
            { kind: 'verify', code: 'RELEASE_BELOW_FLOOR', targets: 1 },
          ],
          rollback: { pin: null, lkg: LKG, revoked: [], to: LKG },
        },
      }),
    );
    expect(refused).toContain(
      'verify refused PACK_INCOMPATIBLE on 2 targets, verify refused RELEASE_BELOW_FLOOR on 1 target',
    );
    expect(refused).toContain(`rollback to ${LKG}`);
    const blocked = formatDecisionRecord(
      record({
        kind: 'health',
        rule: 'rollback.blocked',
        from: 'rolling',
        to: 'paused',
        actor: 'controller',
        inputs: { rollback: { to: null, blocked: 'no pack the channel allows is left' } },
      }),
    );
    expect(blocked).toContain('rollback blocked: no pack the channel allows is left');
  });
});

describe('release status', () => {
  it('counts the soak left from the stage start and the clock', () => {
    const progress = releaseProgress(release({}), new Date('2026-11-23T10:04:00.000Z'));
    expect(progress.stage).toEqual({
      number: 1,
      of: 3,
      name: 'canary',
      percent: 10,
      cohort: null,
      startedAt: '2026-11-23T10:00:00.000Z',
    });
    expect(progress.soakRemainingSeconds).toBe(360);
    expect(progress.approvals).toBeNull();
    const text = formatReleaseStatus(release({}), progress);
    expect(text).toContain('release rel_1  rolling');
    expect(text).toContain('stage     1/3 canary: 10% of the channel');
    expect(text).toContain('soak      6m remaining');
    expect(text).toContain('requested by alice');
  });

  it('reports no soak while paused and a finished soak as done', () => {
    const paused = release({ state: 'paused', pausedReason: 'checking' });
    expect(releaseProgress(paused, new Date('2026-11-23T10:04:00Z')).soakRemainingSeconds).toBe(
      null,
    );
    const late = releaseProgress(release({}), new Date('2026-11-23T11:00:00Z'));
    expect(late.soakRemainingSeconds).toBe(0);
    expect(formatReleaseStatus(release({}), late)).toContain('soak      done');
    expect(
      formatReleaseStatus(paused, releaseProgress(paused, new Date('2026-11-23T10:04:00Z'))),
    ).toContain('paused    checking');
  });

  it('shows the approvals a stage waits for, and who gave them', () => {
    const plan = structuredClone<Plan>(BUILTIN_PLANS.canary);
    plan.stages[1] = { ...plan.stages[1]!, approvals: 2 };
    const waiting = release({
      plan,
      stageIndex: 1,
      stageStartedAt: null,
      approvals: [{ stage: 1, actor: 'bob', at: '2026-11-23T10:20:00.000Z' }],
      currentStage: {
        name: 'half',
        percent: 50,
        cohort: null,
        startedAt: null,
        soakSeconds: 1800,
      },
    });
    const progress = releaseProgress(waiting, new Date('2026-11-23T10:30:00Z'));
    expect(progress.approvals).toEqual({
      stage: 2,
      name: 'half',
      needed: 2,
      approvers: ['bob'],
      waiting: true,
    });
    expect(progress.soakRemainingSeconds).toBeNull();
    expect(formatReleaseStatus(waiting, progress)).toContain(
      'approvals stage 2 half: 1/2 (bob), waiting for approval',
    );
  });

  it('shows the outcome of a rolled back release and where the channel went', () => {
    const rolledBack = release({
      state: 'rolled_back',
      outcome: {
        at: '2026-11-23T10:05:00.000Z',
        summary: 'health gate failed: error_rate',
        reasons: [{ message: 'error_rate measured 0.2 against <= 0.05' }],
        rollbackTo: LKG,
      },
    });
    const text = formatReleaseStatus(
      rolledBack,
      releaseProgress(rolledBack, new Date('2026-11-23T10:06:00Z')),
    );
    expect(text).toContain('outcome   health gate failed: error_rate (2026-11-23T10:05:00.000Z)');
    expect(text).toContain('error_rate measured 0.2 against <= 0.05');
    expect(text).toContain(`rolled back to ${LKG}`);
    expect(text).not.toContain('soak');
  });
});
