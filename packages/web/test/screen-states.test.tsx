/**
 * Every screen's loading, error and empty states, and the running, paused and rolled back states
 * of the screens that show a release's state. The answers come from a table (render-screen.tsx);
 * the browser tests run the same screens against a real server.
 */
import { cleanup, screen, within } from '@testing-library/react';
import type { ReactElement } from 'react';
import type { ReleaseView } from '@lockgate/api';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditScreen } from '../src/screens/audit-screen.tsx';
import { ChannelScreen, ChannelsScreen } from '../src/screens/channels-screen.tsx';
import { EvidenceScreen } from '../src/screens/evidence-screen.tsx';
import { PacksScreen } from '../src/screens/packs-screen.tsx';
import { ReleasesScreen } from '../src/screens/releases-screen.tsx';
import { ReplayScreen } from '../src/screens/replay-screen.tsx';
import { RollbackScreen } from '../src/screens/rollback-screen.tsx';
import { RunScreen } from '../src/screens/run-screen.tsx';
import { ScheduleScreen } from '../src/screens/schedule-screen.tsx';
import { StageScreen } from '../src/screens/stage-screen.tsx';
import { StepScreen } from '../src/screens/step-screen.tsx';
import { TargetsScreen } from '../src/screens/targets-screen.tsx';
import { release, TIMELINE, why } from './fixtures.ts';
import { renderScreen } from './render-screen.tsx';
import type { Answer } from './render-screen.tsx';

afterEach(() => {
  cleanup();
  window.history.replaceState(null, '', '/');
});

const REFUSED: Answer = {
  status: 503,
  body: { code: 'UNAVAILABLE', message: 'The store does not answer.' },
};

interface ScreenCase {
  name: string;
  element: () => ReactElement;
  /** the routes the screen reads first */
  routes: string[];
  loading: string;
  /** answers that leave the screen with nothing to show, and what it then says */
  empty?: { answers: Record<string, Answer>; text: string };
}

const CASES: ScreenCase[] = [
  {
    name: 'Releases',
    element: () => <ReleasesScreen />,
    routes: ['GET /releases'],
    loading: 'Loading releases…',
    empty: { answers: { 'GET /releases': { body: { items: [] } } }, text: 'No releases match.' },
  },
  {
    name: 'Run / Timeline',
    element: () => <RunScreen id="rel_1" />,
    routes: ['GET /releases/rel_1', 'GET /releases/rel_1/timeline'],
    loading: 'Loading release rel_1…',
  },
  {
    name: 'Step Detail',
    element: () => <StepScreen id="rel_1" seq={2} />,
    routes: ['GET /releases/rel_1', 'GET /releases/rel_1/timeline'],
    loading: 'Loading step…',
  },
  {
    name: 'Deploy Stage',
    element: () => <StageScreen id="rel_1" index={0} />,
    routes: ['GET /releases/rel_1'],
    loading: 'Loading stage…',
    empty: {
      answers: {
        'GET /releases/rel_1': { body: { release: release(), why: why() } },
        'GET /targets': { body: { items: [] } },
      },
      text: 'No targets.',
    },
  },
  {
    name: 'Rollback / Re-run',
    element: () => <RollbackScreen id="rel_1" />,
    routes: ['GET /releases/rel_1'],
    loading: 'Loading release rel_1…',
  },
  {
    name: 'Evidence Timeline',
    element: () => <EvidenceScreen id="rel_1" />,
    routes: ['GET /releases/rel_1/evidence'],
    loading: 'Loading the evidence of rel_1…',
  },
  {
    name: 'Replay / Verify',
    element: () => <ReplayScreen id="rel_1" />,
    routes: ['GET /releases/rel_1/replays', 'GET /releases/rel_1/timeline'],
    loading: 'Loading the replays of rel_1…',
    empty: {
      answers: {
        'GET /releases/rel_1/replays': { body: { items: [] } },
        'GET /releases/rel_1/timeline': { body: { items: TIMELINE } },
      },
      text: 'No replay of this release has been requested yet.',
    },
  },
  {
    name: 'Schedule',
    element: () => <ScheduleScreen />,
    routes: ['GET /environments'],
    loading: 'Loading the schedule…',
    empty: {
      answers: {
        'GET /environments': { body: { items: [] } },
        'GET /releases': { body: { items: [] } },
        'GET /freezes': { body: { items: [] } },
      },
      text: 'No freeze window and no scheduled release in the next 14 days.',
    },
  },
  {
    name: 'Channels',
    element: () => <ChannelsScreen />,
    routes: ['GET /environments'],
    loading: 'Loading channels…',
    empty: { answers: { 'GET /environments': { body: { items: [] } } }, text: 'No channels yet.' },
  },
  {
    name: 'Channel',
    element: () => <ChannelScreen env="prod" name="stable" />,
    routes: ['GET /environments/prod/channels/stable'],
    loading: 'Loading channel…',
  },
  {
    name: 'Targets',
    element: () => <TargetsScreen />,
    routes: ['GET /targets'],
    loading: 'Loading targets…',
    empty: { answers: { 'GET /targets': { body: { items: [] } } }, text: 'No targets match.' },
  },
  {
    name: 'Packs',
    element: () => <PacksScreen />,
    routes: ['GET /packs', 'GET /revocations'],
    loading: 'Loading packs…',
    empty: {
      answers: {
        'GET /packs': { body: { items: [] } },
        'GET /revocations': { body: { items: [] } },
      },
      text: 'No packs pushed yet.',
    },
  },
  {
    name: 'Audit log',
    element: () => <AuditScreen />,
    routes: ['GET /decisions'],
    loading: 'Loading the decision log…',
    empty: {
      answers: { 'GET /decisions': { body: { items: [] } } },
      text: 'No decisions recorded yet.',
    },
  },
];

const every = (routes: string[], answer: Answer): Record<string, Answer> =>
  Object.fromEntries(routes.map((route) => [route, answer]));

describe.each(CASES)('$name', (c) => {
  it('says it is loading until its data arrives', () => {
    renderScreen(c.element(), every(c.routes, 'hang'));
    expect(screen.getByRole('status').textContent).toBe(c.loading);
  });

  it("shows the refusal's code and sentence when the server refuses", async () => {
    renderScreen(c.element(), every(c.routes, REFUSED));
    expect((await screen.findByRole('alert')).textContent).toBe(
      'UNAVAILABLE The store does not answer.',
    );
  });

  const empty = c.empty;
  if (empty !== undefined) {
    it('says so when there is nothing to show', async () => {
      renderScreen(c.element(), empty.answers);
      await screen.findByText(empty.text);
      expect(screen.queryByRole('alert')).toBeNull();
    });
  }
});

describe('a release running, paused and rolled back', () => {
  const ROLLED_BACK = release({
    id: 'rel_3',
    state: 'rolled_back',
    outcome: {
      at: '2026-01-01T00:05:00Z',
      summary: 'rolled back: error_rate above 0.05',
      reasons: [{ message: 'gate error_rate failed' }],
      rollbackTo: null,
    },
    currentStage: null,
  });
  const LIST: ReleaseView[] = [
    release({ id: 'rel_1' }),
    release({ id: 'rel_2', state: 'paused', pausedReason: 'checking dashboards' }),
    ROLLED_BACK,
  ];

  it('Releases shows each state in its row, with the stage of the ones still going', async () => {
    renderScreen(<ReleasesScreen />, { 'GET /releases': { body: { items: LIST } } });
    const rows = (await screen.findAllByRole('row')).slice(1);
    expect(
      rows.map((row) => {
        const cells = within(row).getAllByRole('cell');
        return [cells[0]?.textContent, cells[3]?.textContent, cells[4]?.textContent];
      }),
    ).toEqual([
      ['rel_1', 'rolling', 'canary 10%'],
      ['rel_2', 'paused', 'canary 10%'],
      ['rel_3', 'rolled back', '—'],
    ]);
  });

  it('Rollback / Re-run offers pause and roll back while running', async () => {
    renderScreen(<RollbackScreen id="rel_1" />, {
      'GET /releases/rel_1': { body: { release: LIST[0], why: why() } },
      'GET /releases/rel_1/rollback-preview': 'hang',
    });
    await screen.findByText('ROLLING');
    expect(screen.getAllByRole('radio').map((r) => r.getAttribute('value'))).toEqual([
      'pause',
      'rollback',
      'pin',
    ]);
    expect(screen.getByRole('radio', { checked: true }).getAttribute('value')).toBe('pause');
  });

  it('Rollback / Re-run offers no pause once paused', async () => {
    renderScreen(<RollbackScreen id="rel_2" />, {
      'GET /releases/rel_2': { body: { release: LIST[1], why: why() } },
      'GET /releases/rel_2/rollback-preview': 'hang',
    });
    await screen.findByText('PAUSED');
    expect(screen.getAllByRole('radio').map((r) => r.getAttribute('value'))).toEqual([
      'rollback',
      'pin',
    ]);
  });

  it('Rollback / Re-run of a rolled back release can only pin a pack', async () => {
    renderScreen(<RollbackScreen id="rel_3" />, {
      'GET /releases/rel_3': { body: { release: ROLLED_BACK, why: null } },
      'GET /releases/rel_3/rollback-preview': 'hang',
    });
    await screen.findByText('ROLLED BACK');
    expect(screen.getAllByRole('radio').map((r) => r.getAttribute('value'))).toEqual(['pin']);
    screen.getByText('Computing the impact…');
  });

  it('Deploy Stage of a paused release says it is paused', async () => {
    renderScreen(<StageScreen id="rel_2" index={0} />, {
      'GET /releases/rel_2': { body: { release: LIST[1], why: why() } },
      'GET /targets': { body: { items: [] } },
    });
    await screen.findByText('No targets.');
    expect(screen.getByText('Release:').parentElement?.textContent).toBe(
      'Release: PAUSED (checking dashboards), at this stage',
    );
  });

  it('Deploy Stage of a rolled back release says so, and that the trigger fired', async () => {
    renderScreen(<StageScreen id="rel_3" index={0} />, {
      'GET /releases/rel_3': { body: { release: ROLLED_BACK, why: null } },
      'GET /targets': { body: { items: [] } },
    });
    await screen.findByText('No targets.');
    expect(screen.getByText('Release:').parentElement?.textContent).toBe(
      'Release: ROLLED BACK, at this stage',
    );
    screen.getByText(/TRIGGERED by gate error_rate failed/);
  });
});
