import { cleanup, fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { RunScreen } from '../src/screens/run-screen.tsx';
import { release, TIMELINE, why } from './fixtures.ts';
import { renderScreen } from './render-screen.tsx';

afterEach(cleanup);

const answers = (status: unknown) => ({
  'GET /releases/rel_1': { body: status },
  'GET /releases/rel_1/timeline': { body: { items: TIMELINE } },
});

describe('Run / Timeline', () => {
  it('says it is loading until the release arrives', () => {
    renderScreen(<RunScreen id="rel_1" />, { 'GET /releases/rel_1': 'hang' });
    expect(screen.getByRole('status').textContent).toContain('Loading release rel_1');
  });

  it('shows the code and sentence of a refusal', async () => {
    renderScreen(<RunScreen id="rel_1" />, {
      'GET /releases/rel_1': {
        status: 404,
        body: { code: 'RELEASE_NOT_FOUND', message: 'No release rel_1.' },
      },
    });
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toBe('RELEASE_NOT_FOUND No release rel_1.');
  });

  it('tells a running release as checkpoints with the next step in words and its data health', async () => {
    renderScreen(<RunScreen id="rel_1" />, answers({ release: release(), why: why() }));
    await screen.findByText(/Gates inconclusive: 3 of 5 targets reporting/);
    expect(screen.getByRole('heading', { level: 1 }).textContent).toContain('kb@2.0.0');
    expect(screen.getByText('canary 10% → 50% → 100%')).toBeTruthy();
    const marks = screen
      .getAllByRole('listitem')
      .map((li) => li.querySelector('.mark')?.textContent);
    expect(marks).toEqual(['✓', '✓', '▶', '○', '○', '○', '○']);
    expect(screen.getByLabelText('Data health').textContent).toContain(
      '2 of 5 stage targets not reporting',
    );
    expect(screen.getByRole('button', { name: 'Pause' })).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Resume' })).toBeNull();
  });

  it('offers resume for a paused release and says why it is paused', async () => {
    renderScreen(
      <RunScreen id="rel_1" />,
      answers({ release: release({ state: 'paused', pausedReason: 'incident 12' }), why: why() }),
    );
    await screen.findByText(/Paused: incident 12; resume to continue/);
    expect(screen.getByRole('button', { name: 'Resume' })).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Pause' })).toBeNull();
  });

  it('marks the failed stage of a rolled back release and offers no commands', async () => {
    renderScreen(
      <RunScreen id="rel_1" />,
      answers({
        release: release({
          state: 'rolled_back',
          outcome: {
            at: '2026-01-01T00:05:00Z',
            summary: 'error_rate 0.2 > 0.05',
            reasons: [],
            rollbackTo: null,
          },
        }),
        why: null,
      }),
    );
    await screen.findByText(/Rolled back: error_rate 0.2 > 0.05/);
    const marks = screen
      .getAllByRole('listitem')
      .map((li) => li.querySelector('.mark')?.textContent);
    expect(marks[2]).toBe('✗');
    expect(screen.queryAllByRole('button')).toHaveLength(0);
  });

  it('shows a viewer no action buttons', async () => {
    renderScreen(<RunScreen id="rel_1" />, answers({ release: release(), why: why() }), 'viewer');
    await screen.findByText(/Gates inconclusive/);
    expect(screen.queryAllByRole('button')).toHaveLength(0);
  });

  it('asks for a reason, sends the command, and shows its refusal next to the button', async () => {
    const server = renderScreen(<RunScreen id="rel_1" />, {
      ...answers({ release: release(), why: why() }),
      'POST /releases/rel_1/promote': {
        status: 409,
        body: { code: 'FREEZE_ACTIVE', message: 'A freeze window holds prod.' },
      },
    });
    fireEvent.click(await screen.findByRole('button', { name: 'Promote' }));
    const confirm = screen.getByRole<HTMLButtonElement>('button', { name: 'Confirm promote' });
    expect(confirm.disabled).toBe(true);
    fireEvent.change(screen.getByLabelText('Reason for promote (required)'), {
      target: { value: 'looks good' },
    });
    fireEvent.click(confirm);
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toBe('FREEZE_ACTIVE A freeze window holds prod.');
    await waitFor(() =>
      expect(server.calls.find((c) => c.method === 'POST')?.body).toEqual({ reason: 'looks good' }),
    );
  });
});
