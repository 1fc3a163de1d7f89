import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import type {
  EvidenceCheckpointView,
  LogEntryView,
  ReleaseEvidenceView,
  ReplayView,
} from '@lockgate/api';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EvidenceScreen } from '../src/screens/evidence-screen.tsx';
import { ReplayScreen } from '../src/screens/replay-screen.tsx';
import { RollbackScreen } from '../src/screens/rollback-screen.tsx';
import { RunScreen } from '../src/screens/run-screen.tsx';
import { ScheduleScreen } from '../src/screens/schedule-screen.tsx';
import { scheduleOf } from '../src/screens/schedule-release-form.tsx';
import { StepScreen } from '../src/screens/step-screen.tsx';
import { release, TIMELINE, why } from './fixtures.ts';
import { PACKS, renderScreen } from './render-screen.tsx';

afterEach(() => {
  cleanup();
  window.history.replaceState(null, '', '/');
  vi.restoreAllMocks();
});

const [V1, V2] = PACKS.map((p) => p.digest) as [string, string];

const evidenceRecord = (seq: number, rule: string, status: 'sealed' | 'pending') => ({
  seq,
  digest: TIMELINE[seq - 1]?.digest ?? `sha256:${String(seq).repeat(64).slice(0, 64)}`,
  at: `2026-01-01T00:0${seq}:00Z`,
  kind: rule.split('.')[0] ?? 'release',
  rule,
  actor: 'alice',
  verdict: 'ok',
  stageIndex: 0,
  status,
});

/** A running release: requested and verified sealed, the canary stage's start still pending. */
function runningEvidence(): ReleaseEvidenceView {
  const checkpoints: EvidenceCheckpointView[] = [
    {
      name: 'requested',
      status: 'sealed',
      records: [evidenceRecord(1, 'release.create', 'sealed')],
    },
    {
      name: 'verified',
      status: 'sealed',
      records: [evidenceRecord(2, 'verification.passed', 'sealed')],
    },
    { name: 'approvals', status: 'not_required', records: [] },
    {
      name: 'stage 0',
      stage: 'canary',
      stageIndex: 0,
      status: 'pending',
      gates: [
        {
          metric: 'error_rate',
          verdict: 'pass',
          measured: 0.01,
          threshold: 0.05,
          op: '<=',
          targets: 4,
          samples: 120,
        },
      ],
      attestation: null,
      records: [evidenceRecord(3, 'stage.start', 'pending')],
    },
    { name: 'stage 1', stage: 'half', stageIndex: 1, status: 'not_reached', records: [] },
    { name: 'end', status: 'not_reached', records: [] },
    { name: 'seal', status: 'not_reached', records: [] },
  ];
  return {
    release: 'rel_1',
    state: 'rolling',
    pack: V2,
    log: { origin: 'lockgate/log/3f2a9c81d0e4b7aa', checkpointSize: 2 },
    sealed: false,
    seal: null,
    checkpoints,
    pending: ['stage 0', 'stage 1', 'end', 'seal'],
  };
}

function sealedEvidence(): ReleaseEvidenceView {
  const running = runningEvidence();
  return {
    ...running,
    state: 'completed',
    log: { ...running.log, checkpointSize: 9 },
    sealed: true,
    seal: {
      seq: 9,
      digest: `sha256:${'9'.repeat(64)}`,
      recordsDigest: `sha256:${'e'.repeat(64)}`,
      count: 8,
    },
    pending: [],
    checkpoints: running.checkpoints.map((c) => ({
      ...c,
      status: c.status === 'not_required' ? c.status : 'sealed',
      records: c.records.map((r) => ({ ...r, status: 'sealed' as const })),
      ...(c.name === 'stage 0'
        ? {
            attestation: {
              summary: {
                reporting: 4,
                onPack: 4,
                onOtherPack: 0,
                activationsOk: 4,
                activationsFailed: 0,
              },
            },
          }
        : {}),
    })),
  };
}

const KEYS = {
  'GET /log/key': {
    body: {
      origin: 'lockgate/log/3f2a9c81d0e4b7aa',
      verifierKey: 'lockgate/log/3f2a9c81d0e4b7aa+1a2b3c4d+AQxyz=',
      keyId: 'f'.repeat(64),
      publicKeyPem: '-----BEGIN PUBLIC KEY-----',
    },
  },
  'GET /trust/keys': {
    body: {
      items: [
        {
          keyId: 'c0ffee'.repeat(10) + 'c0ff',
          name: 'ci',
          publicKeyPem: '-----BEGIN PUBLIC KEY-----\nci\n-----END PUBLIC KEY-----\n',
          addedAt: '2026-01-01T00:00:00Z',
        },
      ],
    },
  },
};

describe('Evidence Timeline', () => {
  it('says it is loading, then shows the refusal of an unknown release', async () => {
    renderScreen(<EvidenceScreen id="rel_9" />, {
      'GET /releases/rel_9/evidence': 'hang',
    });
    expect(screen.getByRole('status').textContent).toContain('Loading the evidence of rel_9');
    cleanup();
    renderScreen(<EvidenceScreen id="rel_9" />, {
      'GET /releases/rel_9/evidence': {
        status: 404,
        body: { code: 'RELEASE_NOT_FOUND', message: 'No release has id rel_9.' },
      },
    });
    expect((await screen.findByRole('alert')).textContent).toBe(
      'RELEASE_NOT_FOUND No release has id rel_9.',
    );
  });

  it('shows per checkpoint what is sealed and what is pending while the release runs, with no bundle yet', async () => {
    renderScreen(<EvidenceScreen id="rel_1" />, {
      'GET /releases/rel_1/evidence': { body: runningEvidence() },
      ...KEYS,
    });
    const seal = await screen.findByLabelText('Seal');
    expect(seal.textContent).toBe('Not sealed yet. Pending: stage 0, stage 1, end, seal.');
    const rows = screen.getAllByRole('row').slice(1);
    expect(rows.map((row) => within(row).getAllByRole('cell')[0]?.textContent)).toEqual([
      '✓ sealed',
      '✓ sealed',
      '– not required',
      '… pending',
      '○ not reached',
      '○ not reached',
      '○ not reached',
    ]);
    expect(rows[3]?.textContent).toContain('#3 stage.start (pending)');
    expect(rows[3]?.textContent).toContain(
      'error_rate 0.01 <= 0.05: pass (4 targets, 120 samples)',
    );
    expect(screen.getByRole('link', { name: '#3 stage.start' }).getAttribute('href')).toBe(
      '/releases/rel_1/steps/3?tab=evidence',
    );
    const download = screen.getByRole<HTMLButtonElement>('button', {
      name: 'Download evidence bundle',
    });
    expect(download.disabled).toBe(true);
    expect(
      screen.getByText(/exists once the release has ended \(it is rolling now\)/),
    ).toBeTruthy();
  });

  it('downloads the bundle of an ended release and shows the command that verifies it offline', async () => {
    const created: Blob[] = [];
    URL.createObjectURL = vi.fn((blob: Blob) => {
      created.push(blob);
      return 'blob:bundle';
    });
    URL.revokeObjectURL = vi.fn();
    const server = renderScreen(<EvidenceScreen id="rel_1" />, {
      'GET /releases/rel_1/evidence': { body: sealedEvidence() },
      'GET /releases/rel_1/evidence/bundle': { body: 'tar bytes' },
      ...KEYS,
    });
    await screen.findByText(/^Sealed: every record/);
    expect(screen.getByText(/record #9 names 8 records/)).toBeTruthy();
    expect(screen.getAllByRole('row')[4]?.textContent).toContain(
      '4 reporting, 4 on the pack, 0 on another, 4 activations ok, 0 failed',
    );
    fireEvent.click(screen.getByRole('button', { name: 'Download evidence bundle' }));
    const done = await screen.findByText(/^Downloaded rel_1.evidence.tar.gz/);
    expect(done.textContent).toBe(`Downloaded rel_1.evidence.tar.gz (${created[0]?.size} bytes).`);
    expect(server.calls.some((c) => c.path === '/releases/rel_1/evidence/bundle')).toBe(true);
    const command = await screen.findByLabelText('Offline verification command');
    expect(command.textContent).toBe(
      'lockgate evidence verify rel_1.evidence.tar.gz \\\n    --trust-log log.vkey \\\n    --trust-build build-c0ffeec0ffee.pem',
    );
    fireEvent.click(screen.getByRole('button', { name: 'log.vkey' }));
    expect(await created[1]?.text()).toBe('lockgate/log/3f2a9c81d0e4b7aa+1a2b3c4d+AQxyz=\n');
  });

  it('shows the code of a refused download next to the button', async () => {
    renderScreen(<EvidenceScreen id="rel_1" />, {
      'GET /releases/rel_1/evidence': { body: sealedEvidence() },
      'GET /releases/rel_1/evidence/bundle': {
        status: 409,
        body: { code: 'RELEASE_NOT_SEALED', message: 'Release rel_1 has not ended.' },
      },
      ...KEYS,
    });
    fireEvent.click(await screen.findByRole('button', { name: 'Download evidence bundle' }));
    expect((await screen.findByRole('alert')).textContent).toBe(
      'RELEASE_NOT_SEALED Release rel_1 has not ended.',
    );
  });
});

function replayOf(overrides: Partial<ReplayView> = {}): ReplayView {
  return {
    id: 'rpl_1',
    release: 'rel_1',
    requester: 'ops',
    reason: 'audit',
    status: 'completed',
    coreVersion: '0.1.0+decide.1',
    createdAt: '2026-01-01T01:00:00Z',
    finishedAt: '2026-01-01T01:00:01Z',
    total: 2,
    matching: 2,
    mismatches: 0,
    matchRate: 1,
    mismatched: [],
    skipped: [{ seq: 1, rule: 'release.create', why: 'not a core release decision' }],
    error: null,
    ...overrides,
  };
}

describe('Replay / Verify', () => {
  const timeline = { 'GET /releases/rel_1/timeline': { body: { items: TIMELINE } } };

  it('pre-fills the reason for the chosen verdict, requests a replay and shows its figures', async () => {
    window.history.replaceState(null, '', '/releases/rel_1/replay?seq=3');
    const answers: Parameters<typeof renderScreen>[1] = {
      ...timeline,
      'GET /releases/rel_1/replays': { body: { items: [] } },
      'POST /releases/rel_1/replays': { status: 201, body: { replay: replayOf() } },
    };
    const server = renderScreen(<ReplayScreen id="rel_1" />, answers);
    await screen.findByText('No replay of this release has been requested yet.');
    expect(screen.getByText(/Chosen verdict:/).textContent).toContain('stage.start (started)');
    const reason = screen.getByLabelText<HTMLInputElement>('Reason for the replay (required)');
    expect(reason.value).toBe('verify verdict #3 (stage.start) of release rel_1');
    answers['GET /releases/rel_1/replays'] = { body: { items: [replayOf()] } };
    fireEvent.click(screen.getByRole('button', { name: 'Request replay' }));
    await waitFor(() =>
      expect(server.calls.find((c) => c.method === 'POST')).toEqual({
        method: 'POST',
        path: '/releases/rel_1/replays',
        body: { reason: 'verify verdict #3 (stage.start) of release rel_1' },
      }),
    );
    const figures = await screen.findByLabelText('Determinism of rpl_1');
    expect(
      [...figures.querySelectorAll('dt')].map(
        (dt) => `${dt.textContent}=${dt.nextElementSibling?.textContent}`,
      ),
    ).toEqual(['Total=2', 'Matching=2', 'Mismatches=0', 'Match rate=100 % (2 of 2)']);
    expect(screen.getByText(/in the latest replay: matches/)).toBeTruthy();
    expect(screen.getByText(/Not replayed: #1 \(release.create/)).toBeTruthy();
  });

  it('lists each mismatch with its differing field, and shows a viewer no request button', async () => {
    window.history.replaceState(null, '', '/releases/rel_1/replay?seq=3');
    renderScreen(
      <ReplayScreen id="rel_1" />,
      {
        ...timeline,
        'GET /releases/rel_1/replays': {
          body: {
            items: [
              replayOf({
                id: 'rpl_2',
                matching: 1,
                mismatches: 1,
                matchRate: 0.5,
                mismatched: [
                  {
                    seq: 3,
                    recordId: 'dr_3',
                    rule: 'stage.start',
                    problem: 'field',
                    field: 'inputs.gates[0].threshold',
                    expected: 0.05,
                    actual: 0.06,
                    recordedBy: '0.1.0+decide.1',
                    contextIntact: false,
                  },
                ],
              }),
              replayOf(),
            ],
          },
        },
      },
      'viewer',
    );
    const table = await screen.findByRole('table', { name: 'Mismatches of rpl_2' });
    const row = within(table).getAllByRole('row')[1];
    expect(row?.textContent).toBe(
      '#3stage.startinputs.gates[0].threshold recorded 0.05, replayed 0.060.1.0+decide.1changed since the decision',
    );
    expect(
      screen.getByText(/in the latest replay: mismatch: inputs.gates\[0\].threshold/),
    ).toBeTruthy();
    expect(screen.getByLabelText('Determinism of rpl_2').textContent).toContain('50 % (1 of 2)');
    expect(screen.queryAllByRole('button')).toEqual([]);
    expect(screen.getByRole('note').textContent).toContain('Your role reads only');
  });

  it('shows a failed replay with its error', async () => {
    renderScreen(<ReplayScreen id="rel_1" />, {
      ...timeline,
      'GET /releases/rel_1/replays': {
        body: {
          items: [replayOf({ status: 'failed', total: 0, matching: 0, error: 'no records' })],
        },
      },
    });
    expect((await screen.findByRole('alert')).textContent).toBe('REPLAY_FAILED no records');
  });
});

const payload = (statement: unknown): string =>
  btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify(statement))));

const entry = (seq: number): LogEntryView => ({
  seq,
  leafIndex: seq - 1,
  leafHash: `leaf${seq}=`,
  envelope: {
    payloadType: 'application/vnd.in-toto+json',
    payload: payload({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: `pack:${V2}`, digest: { sha256: 'b'.repeat(64) } }],
      predicateType: 'https://lockgate.dev/decision/v1',
      predicate: { seq },
    }),
    signatures: [{ keyid: 'f'.repeat(64), sig: 'c2ln' }],
  },
});

describe('Step Detail evidence', () => {
  const answers = {
    'GET /releases/rel_1': { body: { release: release(), why: why() } },
    'GET /releases/rel_1/timeline': { body: { items: TIMELINE } },
    'GET /releases/rel_1/evidence': { body: runningEvidence() },
    'GET /log/entries/2': { body: entry(2) },
    'GET /log/entries/3': { body: entry(3) },
    'GET /log/proofs/inclusion': {
      body: {
        seq: 2,
        leafIndex: 1,
        treeSize: 2,
        leafHash: 'leaf2=',
        rootHash: 'root=',
        proof: ['p1='],
      },
    },
  };

  it("shows a sealed step's signed statement with its inclusion in the checkpoint", async () => {
    window.history.replaceState(null, '', '/releases/rel_1/steps/2?tab=evidence');
    const server = renderScreen(<StepScreen id="rel_1" seq={2} />, answers);
    await screen.findByText(/^sealed: included in the checkpoint/);
    expect(screen.getByText(/^sealed: included/).textContent).toContain(
      'at size 2, root root=, audit path of 1 hashes',
    );
    expect(screen.getByText(/about pack:sha256:b+/).textContent).toContain(
      'https://lockgate.dev/decision/v1',
    );
    expect(server.calls.some((c) => c.path === '/log/proofs/inclusion?seq=2')).toBe(true);
    expect(screen.getByRole('link', { name: 'Replay this verdict' }).getAttribute('href')).toBe(
      '/releases/rel_1/replay?seq=2',
    );
  });

  it('marks a pending statement pending and asks for no proof; a viewer gets no replay action', async () => {
    window.history.replaceState(null, '', '/releases/rel_1/steps/3?tab=evidence');
    const server = renderScreen(<StepScreen id="rel_1" seq={3} />, answers, 'viewer');
    const pending = await screen.findByText(/^pending: in the log, not yet covered/);
    expect(pending.textContent).toContain('latest at size 2');
    expect(
      within(screen.getByRole('list', { name: 'Statements of stage 0' })).getByText(/this step/)
        .parentElement?.textContent,
    ).toBe('#3 stage.start (this step): pending');
    expect(server.calls.some((c) => c.path.startsWith('/log/proofs'))).toBe(false);
    expect(screen.queryByRole('link', { name: 'Replay this verdict' })).toBeNull();
  });
});

describe('Rollback of a completed release', () => {
  it('links the Run screen to the Rollback screen, which preselects the pin to the LKG', async () => {
    const completed = release({
      state: 'completed',
      outcome: { at: '2026-01-01T00:09:00Z', summary: 'done', reasons: [] },
    });
    renderScreen(<RunScreen id="rel_1" />, {
      'GET /releases/rel_1': { body: { release: completed, why: null } },
      'GET /releases/rel_1/timeline': { body: { items: TIMELINE } },
    });
    const link = await screen.findByRole('link', {
      name: 'Roll back to the LKG or an earlier pack…',
    });
    expect(link.getAttribute('href')).toBe('/releases/rel_1/rollback?scope=pin');
    expect(screen.queryByRole('button', { name: 'Roll back' })).toBeNull();
    expect(screen.getByRole('link', { name: 'Export evidence' }).getAttribute('href')).toBe(
      '/releases/rel_1/evidence',
    );
    expect(screen.getByRole('link', { name: 'Replay' }).getAttribute('href')).toBe(
      '/releases/rel_1/replay',
    );
    cleanup();
    window.history.replaceState(null, '', `/releases/rel_1/rollback?scope=pin&to=${V1}`);
    const server = renderScreen(<RollbackScreen id="rel_1" />, {
      'GET /releases/rel_1': { body: { release: completed, why: null } },
      'GET /releases/rel_1/rollback-preview': {
        body: {
          release: 'rel_1',
          env: 'prod',
          channel: 'stable',
          scope: 'pin',
          to: V1,
          refusals: [],
          indexVersion: 4,
          at: '2026-01-01T00:10:00Z',
          targets: 2,
          moves: [{ from: V2, to: V1, targets: 2, sample: ['t-1', 't-2'] }],
          stays: [],
        },
      },
    });
    await screen.findByText('2 targets on kb@2.0.0 → will run kb@1.0.0');
    expect(screen.getByLabelText<HTMLInputElement>(/Return the channel to the LKG/).checked).toBe(
      true,
    );
    expect(screen.getByLabelText<HTMLSelectElement>('Pack to return to').value).toBe(V1);
    expect(
      server.calls.some(
        (c) => c.path === `/releases/rel_1/rollback-preview?scope=pin&to=${encodeURIComponent(V1)}`,
      ),
    ).toBe(true);
  });
});

describe('Scheduling a release', () => {
  beforeEach(() => window.history.replaceState(null, '', '/schedule'));

  it('turns the form fields into the schedule the API takes', () => {
    const none = { notBefore: '', inWindow: false, days: [], start: '09:00', minutes: '60' };
    expect(scheduleOf(none)).toBeNull();
    expect(scheduleOf({ ...none, notBefore: '2026-02-01T06:30' })).toEqual({
      notBefore: '2026-02-01T06:30:00.000Z',
    });
    expect(scheduleOf({ ...none, inWindow: true, days: ['tue'], minutes: '90' })).toEqual({
      window: { days: ['tue'], start: '09:00', durationMinutes: 90 },
    });
  });

  it('schedules a release not before a time and inside a window from the Schedule screen', async () => {
    const channel = {
      env: 'prod',
      name: 'stable',
      plan: 'canary',
    };
    const server = renderScreen(<ScheduleScreen />, {
      'GET /environments': { body: { items: [{ name: 'prod', description: '', createdAt: '' }] } },
      'GET /environments/prod': {
        body: {
          environment: { name: 'prod', description: '', createdAt: '' },
          channels: [channel],
          freezeWindows: [],
        },
      },
      'GET /releases': { body: { items: [] } },
      'GET /freezes': { body: { items: [] } },
      'GET /plans': { body: { items: [{ name: 'canary' }, { name: 'quick' }] } },
      'POST /releases': {
        status: 201,
        body: { release: release({ id: 'rel_7', state: 'requested' }) },
      },
    });
    await screen.findByRole('heading', { name: 'Schedule a release' });
    const submit = screen.getByRole<HTMLButtonElement>('button', { name: 'Schedule release' });
    fireEvent.change(screen.getByLabelText('Release reason (required)'), {
      target: { value: 'kb 2.0.0 after the freeze' },
    });
    expect(submit.disabled).toBe(true);
    expect(screen.getByText(/Set a time it may not start before/)).toBeTruthy();
    fireEvent.change(screen.getByLabelText('Not before (UTC)'), {
      target: { value: '2026-02-01T06:30' },
    });
    fireEvent.click(screen.getByLabelText('Only inside a weekly window'));
    fireEvent.change(screen.getByLabelText('Window minutes'), { target: { value: '120' } });
    await screen.findByRole('option', { name: 'quick' });
    fireEvent.change(screen.getByLabelText('Plan'), { target: { value: 'quick' } });
    expect(submit.disabled).toBe(false);
    fireEvent.click(submit);
    await waitFor(() =>
      expect(server.calls.find((c) => c.method === 'POST')).toEqual({
        method: 'POST',
        path: '/releases',
        body: {
          pack: V2,
          env: 'prod',
          channel: 'stable',
          plan: 'quick',
          reason: 'kb 2.0.0 after the freeze',
          schedule: {
            notBefore: '2026-02-01T06:30:00.000Z',
            window: { days: ['tue', 'wed', 'thu'], start: '09:00', durationMinutes: 120 },
          },
        },
      }),
    );
    expect((await screen.findByText(/^Scheduled/)).textContent).toContain('rel_7 (requested)');
  });

  it('offers a viewer no scheduling form', async () => {
    renderScreen(
      <ScheduleScreen />,
      {
        'GET /environments': {
          body: { items: [{ name: 'prod', description: '', createdAt: '' }] },
        },
        'GET /environments/prod': {
          body: {
            environment: { name: 'prod', description: '', createdAt: '' },
            channels: [{ env: 'prod', name: 'stable', plan: 'canary' }],
            freezeWindows: [],
          },
        },
        'GET /releases': { body: { items: [] } },
        'GET /freezes': { body: { items: [] } },
      },
      'viewer',
    );
    await screen.findByText('Next 14 days');
    expect(screen.queryByRole('heading', { name: 'Schedule a release' })).toBeNull();
    expect(screen.queryAllByRole('button')).toEqual([]);
  });
});
