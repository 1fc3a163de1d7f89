import type { DecisionRecordView, PlanView, ReleaseView, ReleaseWhyView } from '@lockgate/api';
import { PACKS } from './render-screen.tsx';

const [V1, V2] = PACKS.map((p) => p.digest) as [string, string];

export const PLAN: PlanView = {
  name: 'canary',
  stages: [
    {
      name: 'canary',
      percent: 10,
      soakSeconds: 600,
      gates: [
        {
          metric: 'error_rate',
          op: '<=',
          threshold: 0.05,
          windowSeconds: 300,
          minTargets: 3,
          minSamples: 100,
        },
      ],
    },
    { name: 'half', percent: 50, soakSeconds: 600, gates: [] },
    { name: 'all', percent: 100, soakSeconds: 0, gates: [] },
  ],
};

export function release(overrides: Partial<ReleaseView> = {}): ReleaseView {
  return {
    id: 'rel_1',
    env: 'prod',
    channel: 'stable',
    pack: V2,
    packSequence: 2,
    basePack: V1,
    plan: PLAN,
    state: 'rolling',
    stageIndex: 0,
    stageStartedAt: '2026-01-01T00:01:00Z',
    approvals: [],
    requestedBy: 'alice',
    reason: 'kb 2.0.0',
    version: 3,
    createdAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:01:00Z',
    currentStage: {
      name: 'canary',
      percent: 10,
      cohort: null,
      startedAt: '2026-01-01T00:01:00Z',
      soakSeconds: 600,
    },
    ...overrides,
  };
}

export function why(overrides: Partial<ReleaseWhyView> = {}): ReleaseWhyView {
  return {
    at: '2026-01-01T00:02:00Z',
    blockers: [],
    freeze: null,
    stage: {
      index: 0,
      name: 'canary',
      percent: 10,
      cohort: null,
      startedAt: '2026-01-01T00:01:00Z',
      targets: 5,
      onPack: 3,
      channelTargets: 50,
      soakSeconds: 600,
      progressDeadlineSeconds: 3600,
    },
    gates: [
      {
        metric: 'error_rate',
        verdict: 'inconclusive',
        measured: null,
        threshold: 0.05,
        op: '<=',
        targets: 3,
        samples: 40,
        reasons: ['40 samples, fewer than 100'],
      },
    ],
    refusals: { targets: 0, groups: [] },
    approvals: null,
    verification: { ok: true, reasons: [] },
    ...overrides,
  };
}

export function record(
  seq: number,
  overrides: Partial<DecisionRecordView> = {},
): DecisionRecordView {
  return {
    seq,
    id: `dr_${seq}`,
    release: 'rel_1',
    env: 'prod',
    channel: 'stable',
    at: `2026-01-01T00:0${seq}:00Z`,
    kind: 'release',
    rule: 'release.create',
    actor: 'alice',
    reason: null,
    from: null,
    to: 'requested',
    stageIndex: 0,
    inputs: {},
    verdict: 'requested',
    holder: null,
    digest: `sha256:${String(seq).repeat(64).slice(0, 64)}`,
    prevDigest:
      seq === 1
        ? null
        : `sha256:${String(seq - 1)
            .repeat(64)
            .slice(0, 64)}`,
    coreVersion: null,
    ...overrides,
  };
}

export const TIMELINE = [
  record(1),
  record(2, {
    kind: 'verification',
    rule: 'verification.passed',
    from: 'requested',
    to: 'verifying',
    verdict: 'passed',
  }),
  record(3, {
    kind: 'stage',
    rule: 'stage.start',
    from: 'verifying',
    to: 'rolling',
    verdict: 'started',
    holder: 'ctl-1',
  }),
];
