import { cleanup, screen, within } from '@testing-library/react';
import type { ActiveFreezeView, ChannelView, ReleaseView } from '@lockgate/api';
import { afterEach, describe, expect, it } from 'vitest';
import { preconditionsOf } from '../src/screens/schedule-preconditions.ts';
import type { PreconditionInput } from '../src/screens/schedule-preconditions.ts';
import { ScheduleScreen } from '../src/screens/schedule-screen.tsx';
import { release, why } from './fixtures.ts';
import { PACKS, renderScreen } from './render-screen.tsx';

afterEach(cleanup);

const [V1, V2] = PACKS.map((p) => p.digest) as [string, string];
const NOW = Date.parse('2026-01-05T09:00:00Z');

function channel(env: string, name: string, base: string): ChannelView {
  return {
    env,
    name,
    plan: 'canary',
    floor: null,
    constraints: {},
    cohorts: [],
    indexTtlSeconds: 86_400,
    base,
    lkg: base,
    pins: [],
    revoked: [],
    rollbackAuthorizations: [],
    activeRelease: null,
    indexVersion: 4,
    updatedAt: '2026-01-05T08:00:00Z',
  };
}

/** A release of kb@2.0.0 to prod/stable, waiting for its not-before time. */
const SCHEDULED: ReleaseView = release({
  id: 'rel_s',
  state: 'requested',
  stageIndex: 0,
  stageStartedAt: null,
  currentStage: null,
  reason: 'kb 2.0.0 after the weekend',
  schedule: { notBefore: '2026-01-08T06:30:00Z' },
});

/** kb@2.0.0 reached staging/stable through a release that completed at 06:00. */
const STAGING_DONE: ReleaseView = release({
  id: 'rel_stg',
  env: 'staging',
  state: 'completed',
  outcome: { at: '2026-01-05T06:00:00Z', summary: 'completed', reasons: [] },
});

const WAITING_WHY = why({
  blockers: [
    { kind: 'schedule', message: 'waits for its schedule (not before 2026-01-08T06:30:00Z)' },
  ],
  stage: null,
  gates: [],
  verification: null,
});

function input(overrides: Partial<PreconditionInput> = {}): PreconditionInput {
  return {
    release: SCHEDULED,
    why: WAITING_WHY,
    freezes: [],
    channels: [channel('prod', 'stable', V1), channel('staging', 'stable', V2)],
    releases: [SCHEDULED, STAGING_DONE],
    packs: new Map(PACKS.map((p) => [p.digest, p])),
    now: NOW,
    ...overrides,
  };
}

const states = (list: ReturnType<typeof preconditionsOf>): [string, string][] =>
  list.map((p) => [p.key, p.state]);

describe('preconditions of a scheduled release', () => {
  it('says the schedule holds it and what else is already met', () => {
    const list = preconditionsOf(input());
    expect(states(list)).toEqual([
      ['schedule', 'waiting'],
      ['freeze', 'met'],
      ['approvals', 'met'],
      ['data', 'met'],
      ['upstream', 'info'],
    ]);
    expect(list.map((p) => p.text)).toEqual([
      'waits for its schedule (not before 2026-01-08T06:30:00Z)',
      'no freeze holds prod now',
      'none needed before stage 1 canary',
      'OK: no agent refusal of the pack; channel index version 4 valid until about 2026-01-06 08:00:00',
      'kb@2.0.0 runs in staging/stable for 3h (since 2026-01-05 06:00:00) (the server does not require it before the start)',
    ]);
  });

  it('holds on a freeze of its environment, missing approvals and agent refusals', () => {
    const freeze: ActiveFreezeView = {
      env: 'prod',
      id: 'frz_1',
      source: 'stop-the-line',
      reason: 'incident 42',
      from: '2026-01-05T08:30:00Z',
      until: '9999-12-31T23:59:59Z',
      createdBy: 'ops',
    };
    const list = preconditionsOf(
      input({
        freezes: [freeze, { ...freeze, env: 'staging', reason: 'elsewhere' }],
        why: why({
          blockers: [],
          stage: null,
          gates: [],
          verification: null,
          approvals: { stage: 0, name: 'canary', needed: 2, approvers: ['bob'], waiting: true },
          refusals: {
            targets: 3,
            groups: [{ kind: 'verify', code: 'PACK_SIGNATURE_INVALID', targets: 3, sample: [] }],
          },
        }),
      }),
    );
    expect(states(list)).toEqual([
      ['schedule', 'met'],
      ['freeze', 'waiting'],
      ['approvals', 'waiting'],
      ['data', 'waiting'],
      ['upstream', 'info'],
    ]);
    expect(list[1]?.text).toBe('frozen: stop-the-line until 9999-12-31 23:59:59: incident 42');
    expect(list[2]?.text).toBe('1 of 2 in for stage 1 canary (bob): waiting for 1 more');
    expect(list[3]?.text).toBe('WARN: 3 target(s) refused the pack: PACK_SIGNATURE_INVALID × 3');
  });

  it('counts approvals in once enough are given, and warns of an expired channel index', () => {
    const list = preconditionsOf(
      input({
        now: Date.parse('2026-01-07T09:00:00Z'),
        why: why({
          blockers: [],
          stage: null,
          gates: [],
          verification: null,
          approvals: {
            stage: 0,
            name: 'canary',
            needed: 2,
            approvers: ['alice', 'bob'],
            waiting: false,
          },
        }),
      }),
    );
    expect(list[2]).toMatchObject({
      state: 'met',
      text: '2 of 2 in for stage 1 canary (alice, bob)',
    });
    expect(list[3]).toMatchObject({
      state: 'waiting',
      text: 'WARN: channel index version 4 expired 2026-01-06 08:00:00',
    });
  });

  it('says when no other channel runs the pack yet', () => {
    const list = preconditionsOf(input({ channels: [channel('prod', 'stable', V1)] }));
    expect(list[4]?.text).toBe(
      'no other channel runs kb@2.0.0 yet (the server does not require it before the start)',
    );
  });
});

describe('Schedule screen', () => {
  const answers = (releases: ReleaseView[]) => ({
    'GET /environments': {
      body: {
        items: [
          { name: 'prod', description: '', createdAt: '' },
          { name: 'staging', description: '', createdAt: '' },
        ],
      },
    },
    'GET /environments/prod': {
      body: {
        environment: { name: 'prod', description: '', createdAt: '' },
        channels: [channel('prod', 'stable', V1)],
        freezeWindows: [],
      },
    },
    'GET /environments/staging': {
      body: {
        environment: { name: 'staging', description: '', createdAt: '' },
        channels: [channel('staging', 'stable', V2)],
        freezeWindows: [],
      },
    },
    'GET /releases': { body: { items: releases } },
    'GET /freezes': { body: { items: [] } },
    'GET /releases/rel_s': { body: { release: SCHEDULED, why: WAITING_WHY } },
  });

  it('says it is loading until the schedule arrives', () => {
    renderScreen(<ScheduleScreen />, { 'GET /environments': 'hang' });
    expect(screen.getByRole('status').textContent).toBe('Loading the schedule…');
  });

  it('shows the code and sentence of a refusal', async () => {
    renderScreen(<ScheduleScreen />, {
      ...answers([]),
      'GET /freezes': { status: 503, body: { code: 'UNAVAILABLE', message: 'The store is down.' } },
    });
    expect((await screen.findByRole('alert')).textContent).toBe('UNAVAILABLE The store is down.');
  });

  it('says so when nothing is scheduled', async () => {
    renderScreen(<ScheduleScreen />, answers([]));
    await screen.findByText('No release waits for its schedule.');
    screen.getByText('No freeze window and no scheduled release in the next 14 days.');
  });

  it("lists each scheduled release with its preconditions' current state", async () => {
    const server = renderScreen(<ScheduleScreen />, answers([SCHEDULED, STAGING_DONE]), 'viewer');
    const list = await screen.findByRole('list', { name: 'Preconditions of rel_s' });
    const items = within(list).getAllByRole('listitem');
    expect(items.map((li) => li.getAttribute('data-precondition'))).toEqual([
      'schedule',
      'freeze',
      'approvals',
      'data',
      'upstream',
    ]);
    expect(items[0]?.textContent).toBe(
      '○ Time and window: waits for its schedule (not before 2026-01-08T06:30:00Z)',
    );
    expect(items[1]?.textContent).toBe('✓ No freeze: no freeze holds prod now');
    expect(within(items[4] as HTMLElement).getByLabelText('info').textContent).toBe('ℹ');
    expect(items[4]?.textContent).toContain('kb@2.0.0 runs in staging/stable for');
    // The status of the scheduled release only: the completed one is not asked for.
    expect(server.calls.filter((c) => c.path.startsWith('/releases/')).map((c) => c.path)).toEqual([
      '/releases/rel_s',
    ]);
  });
});
