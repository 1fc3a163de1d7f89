import { cleanup, fireEvent, screen, waitFor } from '@testing-library/react';
import type { FreezeWindowView, RollbackPreviewResponse } from '@lockgate/api';
import { afterEach, describe, expect, it } from 'vitest';
import { choicesFor, recordedReason, RollbackScreen } from '../src/screens/rollback-screen.tsx';
import { calendar } from '../src/screens/schedule-model.ts';
import { ScheduleScreen } from '../src/screens/schedule-screen.tsx';
import { indexAround, indexDiff } from '../src/screens/step-artifacts.ts';
import { record, release, why } from './fixtures.ts';
import { PACKS, renderScreen } from './render-screen.tsx';

afterEach(cleanup);

const [V1, V2] = PACKS.map((p) => p.digest) as [string, string];

const PREVIEW: RollbackPreviewResponse = {
  release: 'rel_1',
  env: 'prod',
  channel: 'stable',
  scope: 'rollback',
  to: V1,
  refusals: [],
  indexVersion: 7,
  at: '2026-01-01T00:02:00Z',
  targets: 10,
  moves: [{ from: V2, to: V1, targets: 3, sample: ['t-1', 't-2', 't-3'] }],
  stays: [{ pack: V1, targets: 7, sample: ['t-4'] }],
};

describe('Rollback / Re-run', () => {
  it('offers what the state allows and records the ticket with the reason', () => {
    expect(choicesFor(release())).toEqual(['pause', 'rollback', 'pin']);
    expect(choicesFor(release({ state: 'paused' }))).toEqual(['rollback', 'pin']);
    expect(choicesFor(release({ state: 'failed' }))).toEqual(['retry', 'pin']);
    expect(choicesFor(release({ state: 'completed' }))).toEqual(['pin']);
    expect(recordedReason(' latency ', '')).toBe('latency');
    expect(recordedReason('latency', 'INC-7')).toBe('latency (ticket INC-7)');
  });

  it('shows the impact before acting, then rolls back with the reason and ticket', async () => {
    const server = renderScreen(<RollbackScreen id="rel_1" />, {
      'GET /releases/rel_1': { body: { release: release(), why: why() } },
      'GET /releases/rel_1/rollback-preview': { body: PREVIEW },
      'POST /releases/rel_1/rollback': { body: { release: release({ state: 'rolled_back' }) } },
    });
    fireEvent.click(await screen.findByLabelText(/Roll back the release/));
    await screen.findByText('3 targets on kb@2.0.0 → will run kb@1.0.0');
    expect(screen.getByText('7 targets on kb@1.0.0 → unchanged')).toBeTruthy();
    const execute = screen.getByRole<HTMLButtonElement>('button', { name: 'Execute' });
    expect(execute.disabled).toBe(true);
    fireEvent.change(screen.getByLabelText('Reason (required)'), {
      target: { value: 'elevated latency' },
    });
    fireEvent.change(screen.getByLabelText('Ticket (optional)'), { target: { value: 'INC-1234' } });
    fireEvent.click(execute);
    await waitFor(() =>
      expect(server.calls.find((c) => c.method === 'POST')).toEqual({
        method: 'POST',
        path: '/releases/rel_1/rollback',
        body: { reason: 'elevated latency (ticket INC-1234)' },
      }),
    );
    expect(
      server.calls.some((c) => c.path === '/releases/rel_1/rollback-preview?scope=rollback'),
    ).toBe(true);
  });

  it('explains a refusal before the click and keeps Execute disabled', async () => {
    renderScreen(<RollbackScreen id="rel_1" />, {
      'GET /releases/rel_1': { body: { release: release({ state: 'completed' }), why: null } },
      'GET /releases/rel_1/rollback-preview': {
        body: {
          ...PREVIEW,
          scope: 'pin',
          moves: [],
          stays: [{ pack: V2, targets: 10, sample: [] }],
          refusals: [{ code: 'RELEASE_BELOW_FLOOR', message: 'below the floor 2' }],
        },
      },
    });
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toBe('RELEASE_BELOW_FLOOR below the floor 2');
    fireEvent.change(screen.getByLabelText('Reason (required)'), { target: { value: 'x' } });
    expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Execute' }).disabled).toBe(true);
  });

  it('shows a viewer the preview and no button', async () => {
    renderScreen(
      <RollbackScreen id="rel_1" />,
      {
        'GET /releases/rel_1': { body: { release: release({ state: 'paused' }), why: why() } },
        'GET /releases/rel_1/rollback-preview': { body: PREVIEW },
      },
      'viewer',
    );
    await screen.findByText('3 targets on kb@2.0.0 → will run kb@1.0.0');
    expect(screen.queryAllByRole('button')).toEqual([]);
  });
});

describe('Step Detail artifacts', () => {
  it('replays the records into the index fields before and after a step', () => {
    const r = release();
    const records = [
      record(1, { rule: 'release.create', to: 'requested', stageIndex: 0 }),
      record(2, { rule: 'verification.passed', to: 'rolling', stageIndex: 0, verdict: 'rolling' }),
      record(3, { rule: 'stage.soak_complete', to: 'rolling', stageIndex: 1, verdict: 'advanced' }),
      record(4, { rule: 'command.rollback', to: 'rolled_back', stageIndex: 1 }),
    ];
    const around = indexAround(r, records, 3);
    expect(indexDiff(around.before, around.after)).toEqual([['rolloutPercent', '10', '50']]);
    const back = indexAround(
      { ...r, outcome: { at: '', summary: '', reasons: [], rollbackTo: V1 } },
      records,
      4,
    );
    expect(indexDiff(back.before, back.after)).toEqual([
      ['rolloutPack', V2, '—'],
      ['rolloutPercent', '50', '—'],
    ]);
  });
});

describe('Schedule', () => {
  const NOW = Date.parse('2026-01-05T09:00:00Z'); // a Monday
  const WINDOWS: FreezeWindowView[] = [
    {
      id: 'fw_1',
      env: 'prod',
      reason: 'year end',
      kind: 'once',
      start: '2026-01-06T22:00:00Z',
      end: '2026-01-07T02:00:00Z',
      createdAt: '2026-01-01T00:00:00Z',
      createdBy: 'ops',
    },
    {
      id: 'fw_2',
      env: 'prod',
      reason: 'friday',
      kind: 'weekly',
      start: '16:00',
      days: ['fri'],
      durationMinutes: 600,
      createdAt: '2026-01-01T00:00:00Z',
      createdBy: 'ops',
    },
  ];

  it('lays freeze windows and scheduled releases out day by day', () => {
    const scheduled = release({
      state: 'requested',
      schedule: { notBefore: '2026-01-08T06:30:00Z' },
    });
    const items = calendar(
      WINDOWS,
      [scheduled, release({ state: 'completed', schedule: {} })],
      NOW,
      7,
    );
    expect(items.map((i) => [i.day, i.when, i.kind, i.freezeId ?? null])).toEqual([
      ['2026-01-06', '22:00 → 2026-01-07 02:00', 'freeze', 'fw_1'],
      ['2026-01-08', 'from 06:30', 'release', null],
      ['2026-01-09', '16:00–02:00 (+1d)', 'freeze', 'fw_2'],
    ]);
  });

  it('lists a stop the line once, on the first day, until lifted', () => {
    const stopped: FreezeWindowView = {
      ...WINDOWS[0]!,
      id: 'frz_stl',
      start: '2026-01-04T12:00:00Z',
      end: '9999-12-31T23:59:59Z',
    };
    expect(calendar([stopped], [], NOW, 14).map((i) => [i.day, i.when])).toEqual([
      ['2026-01-05', '00:00 until lifted'],
    ]);
  });

  it('stops the line with a reason in one click', async () => {
    const server = renderScreen(<ScheduleScreen />, {
      'GET /environments': { body: { items: [{ name: 'prod', description: '', createdAt: '' }] } },
      'GET /environments/prod': {
        body: {
          environment: { name: 'prod', description: '', createdAt: '' },
          channels: [],
          freezeWindows: WINDOWS,
        },
      },
      'GET /releases': { body: { items: [] } },
      'GET /freezes': { body: { items: [] } },
      'POST /freezes': { status: 201, body: { items: [] } },
    });
    await screen.findByText('No freeze in effect: releases may start and advance.');
    fireEvent.click(screen.getByRole('button', { name: 'Stop the line' }));
    fireEvent.change(screen.getByLabelText('Reason for stop the line (required)'), {
      target: { value: 'incident 42' },
    });
    fireEvent.click(screen.getByRole('button', { name: 'Confirm stop the line' }));
    await waitFor(() =>
      expect(server.calls.find((c) => c.method === 'POST')).toEqual({
        method: 'POST',
        path: '/freezes',
        body: { reason: 'incident 42' },
      }),
    );
  });
});
