import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChannelView, TargetView } from '@lockgate/api';
import { AuditScreen, chainState } from '../src/screens/audit-screen.tsx';
import { ChannelScreen } from '../src/screens/channels-screen.tsx';
import { PacksScreen } from '../src/screens/packs-screen.tsx';
import { ReleasesScreen } from '../src/screens/releases-screen.tsx';
import { SignInScreen } from '../src/screens/sign-in-screen.tsx';
import { policyWords, StageScreen } from '../src/screens/stage-screen.tsx';
import { TargetsScreen } from '../src/screens/targets-screen.tsx';
import { PLAN, record, release, TIMELINE, why } from './fixtures.ts';
import { fakeFetch, PACKS, renderScreen } from './render-screen.tsx';

afterEach(() => {
  cleanup();
  window.history.replaceState(null, '', '/');
});

const [V1, V2] = PACKS.map((p) => p.digest) as [string, string];

function target(i: number, activePack: string | null = V1): TargetView {
  return {
    id: `t-${String(i).padStart(5, '0')}`,
    env: 'prod',
    channel: 'stable',
    labels: { region: i % 2 === 0 ? 'eu' : 'us' },
    capabilities: {},
    activePack,
    lastReportAt: new Date().toISOString(),
    lastAttempt: null,
    registeredAt: '2026-01-01T00:00:00Z',
  };
}

const CHANNEL: ChannelView = {
  env: 'prod',
  name: 'stable',
  plan: 'canary',
  floor: 1,
  constraints: {},
  cohorts: [],
  indexTtlSeconds: 86400,
  base: V1,
  lkg: V1,
  pins: [
    {
      env: 'prod',
      channel: 'stable',
      cohort: '_',
      selector: null,
      pack: V1,
      reason: 'hold',
      actor: 'alice',
      createdAt: '2026-01-01T00:00:00Z',
      expiresAt: '2026-01-02T00:00:00Z',
    },
  ],
  revoked: [],
  rollbackAuthorizations: [],
  activeRelease: null,
  indexVersion: 7,
  updatedAt: '2026-01-01T00:00:00Z',
};

describe('Releases', () => {
  it('says it is loading, then that nothing matches when the list is empty', async () => {
    renderScreen(<ReleasesScreen />, { 'GET /releases': { body: { items: [] } } });
    expect(screen.getByRole('status').textContent).toContain('Loading');
    await screen.findByText('No releases match.');
  });

  it('shows a refusal with its code', async () => {
    renderScreen(<ReleasesScreen />, {
      'GET /releases': {
        status: 401,
        body: { code: 'UNAUTHORIZED', message: 'The bearer token is not valid.' },
      },
    });
    expect((await screen.findByRole('alert')).textContent).toContain('UNAUTHORIZED');
  });

  it('lists releases with name@version and short digest, filtered by state in the URL', async () => {
    window.history.replaceState(null, '', '/releases?state=paused');
    const server = renderScreen(<ReleasesScreen />, {
      'GET /releases': { body: { items: [release({ state: 'paused' })] } },
    });
    await screen.findByText('rel_1');
    expect(screen.getByText('kb@2.0.0')).toBeTruthy();
    expect(screen.getByText('b'.repeat(12))).toBeTruthy();
    expect(server.calls[0]?.path).toBe('/releases?state=paused&limit=1000');
  });
});

describe('Deploy Stage', () => {
  it('puts the policy in words', () => {
    expect(policyWords(PLAN.stages[0]!)).toBe(
      'proceed when error rate ≤ 0.05 over 5m with ≥ 3 targets and ≥ 100 samples; soak 10m',
    );
  });

  it('pages 10,000 targets from the API and keeps only the rows in view in the document', async () => {
    const all = Array.from({ length: 10_000 }, (_, i) => target(i, i % 10 === 0 ? V2 : V1));
    const answers: Record<string, { body: unknown }> = {
      'GET /releases/rel_1': { body: { release: release(), why: why() } },
    };
    for (let page = 0; page < 11; page += 1) {
      const after = page === 0 ? '' : `&after=${all[page * 1000 - 1]!.id}`;
      answers[`GET /targets?env=prod&channel=stable&limit=1000${after}`] = {
        body: { items: all.slice(page * 1000, page * 1000 + 1000) },
      };
    }
    renderScreen(<StageScreen id="rel_1" index={0} />, answers);
    await screen.findByText('10000 targets', {}, { timeout: 10_000 });
    const rows = screen
      .getByRole('region', { name: 'Targets of the stage' })
      .querySelectorAll('tbody tr');
    expect(rows.length).toBeLessThan(100);
    expect(
      screen.getByText('error rate ≤ 0.05 over 5m with ≥ 3 targets and ≥ 100 samples'),
    ).toBeTruthy();
    expect(screen.getByText('inconclusive')).toBeTruthy();
  });

  it('says which trigger rolled the stage back', async () => {
    renderScreen(<StageScreen id="rel_1" index={0} />, {
      'GET /releases/rel_1': {
        body: {
          release: release({
            state: 'rolled_back',
            outcome: {
              at: 'x',
              summary: 'rolled back',
              reasons: [{ message: 'gate error_rate failed: 0.2 > 0.05' }],
            },
          }),
          why: null,
        },
      },
      'GET /targets': { body: { items: [] } },
    });
    await screen.findByText(/TRIGGERED by gate error_rate failed/);
    await screen.findByText('No targets.');
  });
});

describe('Channels', () => {
  it('shows base, LKG, floor, index and pins, and a refused clear shows its code', async () => {
    renderScreen(<ChannelScreen env="prod" name="stable" />, {
      'GET /environments/prod/channels/stable': { body: { channel: CHANNEL } },
      'DELETE /environments/prod/channels/stable/pins/_': {
        status: 409,
        body: { code: 'CONFLICT', message: 'The pin changed.' },
      },
    });
    await screen.findByText(/version 7/);
    expect(screen.getByText(/whole channel → kb@1.0.0/)).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Clear pin' }));
    fireEvent.change(screen.getByLabelText('Reason for clear pin (required)'), {
      target: { value: 'done' },
    });
    fireEvent.click(screen.getByRole('button', { name: 'Confirm clear pin' }));
    expect((await screen.findByRole('alert')).textContent).toBe('CONFLICT The pin changed.');
  });

  it('shows a viewer no pin controls', async () => {
    renderScreen(
      <ChannelScreen env="prod" name="stable" />,
      { 'GET /environments/prod/channels/stable': { body: { channel: CHANNEL } } },
      'viewer',
    );
    await screen.findByText(/version 7/);
    expect(screen.queryAllByRole('button')).toHaveLength(0);
  });
});

describe('Targets', () => {
  it('marks a target whose active pack is not the pinned one as drift', async () => {
    window.history.replaceState(null, '', '/targets?only=drift');
    renderScreen(<TargetsScreen />, {
      'GET /targets?limit=1000': { body: { items: [target(1), target(2, V2)] } },
      'GET /environments/prod/channels/stable': { body: { channel: CHANNEL } },
    });
    await screen.findByText('1 targets, 1 drifting');
    expect(screen.getByText('t-00002')).toBeTruthy();
    expect(screen.queryByText('t-00001')).toBeNull();
  });
});

describe('Packs', () => {
  it('shows eligibility and revocation, and revokes with a reason', async () => {
    const server = renderScreen(<PacksScreen />, {
      'GET /packs?limit=1000': { body: { items: PACKS } },
      'GET /revocations': {
        body: {
          items: [{ pack: V1, reason: 'CVE', actor: 'sec', revokedAt: '2026-01-03T00:00:00Z' }],
        },
      },
      [`POST /packs/${encodeURIComponent(V2)}/revoke`]: { body: {} },
    });
    await screen.findByText(/revoked 2026-01-03 00:00:00 by sec: CVE/);
    fireEvent.click(screen.getByRole('button', { name: 'Revoke kb@2.0.0' }));
    fireEvent.change(screen.getByLabelText('Reason for revoke kb@2.0.0 (required)'), {
      target: { value: 'bad' },
    });
    fireEvent.click(screen.getByRole('button', { name: 'Confirm revoke kb@2.0.0' }));
    await waitFor(() => expect(server.calls.some((c) => c.method === 'POST')).toBe(true));
  });
});

describe('Audit log', () => {
  it('says the chain is linked, or where it breaks', async () => {
    expect(chainState(TIMELINE).ok).toBe(true);
    const broken = [record(1), record(2, { prevDigest: 'sha256:nope' })];
    expect(chainState(broken)).toMatchObject({
      ok: false,
      message: expect.stringContaining('record 2') as unknown,
    });
    expect(chainState([record(1), record(3)]).message).toContain('gap');
    renderScreen(<AuditScreen />, {
      'GET /decisions?after=0&limit=1000': { body: { items: TIMELINE } },
    });
    await screen.findByText(/✓ linked/);
  });

  it('says so when nothing is recorded', async () => {
    renderScreen(<AuditScreen />, { 'GET /decisions?after=0&limit=1000': { body: { items: [] } } });
    await screen.findByText('No decisions recorded yet.');
  });
});

describe('Sign in', () => {
  it('exchanges the code of the link fragment once and removes it from the address bar', async () => {
    window.history.replaceState(null, '', '/sign-in#code=abc123');
    const server = {
      calls: [] as { method: string; path: string; body: unknown }[],
      answers: {
        'POST /console/sign-in': {
          body: { token: 'secret-token', session: { name: 'admin', role: 'admin' } },
        },
      },
    };
    let signedIn: string | null = null;
    render(<SignInScreen fetcher={fakeFetch(server)} onSignedIn={(token) => (signedIn = token)} />);
    await waitFor(() => expect(signedIn).toBe('secret-token'));
    expect(window.location.hash).toBe('');
    expect(window.location.href).not.toContain('abc123');
    expect(server.calls).toEqual([
      { method: 'POST', path: '/console/sign-in', body: { code: 'abc123' } },
    ]);
  });

  it('shows why a token is refused', async () => {
    const server = {
      calls: [],
      answers: {
        'GET /session': {
          status: 401,
          body: { code: 'UNAUTHORIZED', message: 'The bearer token is not valid.' },
        },
      },
    };
    render(<SignInScreen fetcher={fakeFetch(server)} onSignedIn={() => undefined} />);
    fireEvent.change(screen.getByLabelText('API token'), { target: { value: 'wrong' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect((await screen.findByRole('alert')).textContent).toContain('UNAUTHORIZED');
  });
});
