/**
 * What the console bench renders (loaded through Vite's module loader, in jsdom): the Releases
 * screen with N releases, the Deploy Stage screen with N targets paged from a fake API, and a
 * plain table of N rows as the baseline React itself costs.
 */
import { act } from 'react';
import { createRoot } from 'react-dom/client';
import type { PackSummary, ReleaseView, TargetView } from '@lockgate/api';
import { ApiClient } from '../src/api/client.ts';
import { SessionContext } from '../src/app/session.tsx';
import { ReleasesScreen } from '../src/screens/releases-screen.tsx';
import { StageScreen } from '../src/screens/stage-screen.tsx';

const V1 = `sha256:${'a'.repeat(64)}`;
const V2 = `sha256:${'b'.repeat(64)}`;
const PACKS: PackSummary[] = [V1, V2].map((digest, i) => ({
  digest,
  name: 'kb',
  version: `${i + 1}.0.0`,
  sequence: i + 1,
  size: 1,
  buildId: `b${i}`,
  createdAt: '2026-01-01T00:00:00Z',
  pushedAt: '2026-01-01T00:00:00Z',
}));

function releaseOf(i: number): ReleaseView {
  return {
    id: `rel_${String(i).padStart(5, '0')}`,
    env: `env-${i % 5}`,
    channel: i % 2 === 0 ? 'stable' : 'canary',
    pack: i % 3 === 0 ? V1 : V2,
    packSequence: 2,
    basePack: V1,
    plan: {
      name: 'canary',
      stages: [{ name: 'canary', percent: 10, soakSeconds: 600, gates: [] }],
    },
    state: i % 7 === 0 ? 'rolling' : 'completed',
    stageIndex: 0,
    stageStartedAt: '2026-01-01T00:00:00Z',
    approvals: [],
    requestedBy: 'ops',
    reason: `release ${i}`,
    version: 1,
    createdAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:00:00Z',
    currentStage: null,
  };
}

function targetOf(i: number): TargetView {
  return {
    id: `t-${String(i).padStart(6, '0')}`,
    env: 'prod',
    channel: 'stable',
    labels: { zone: `z${i % 4}` },
    capabilities: {},
    activePack: i % 10 === 0 ? V2 : V1,
    lastReportAt: '2026-01-01T00:00:00Z',
    lastAttempt: null,
    registeredAt: '2026-01-01T00:00:00Z',
  };
}

function fakeFetch(answer: (path: string) => unknown): typeof fetch {
  return (input) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const body = answer(url.replace(/^.*\/api\/v1/, ''));
    return Promise.resolve(new Response(JSON.stringify(body), { status: 200 }));
  };
}

async function until(test: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !test(); i += 1) {
    await act(() => new Promise((resolve) => setTimeout(resolve, 1)));
  }
  if (!test()) throw new Error('the screen never showed its rows');
}

async function mount(element: React.ReactElement, answer: (path: string) => unknown) {
  const container = document.createElement('div');
  document.body.append(container);
  const root = createRoot(container);
  const client = new ApiClient('token', fakeFetch(answer));
  const packs = new Map(PACKS.map((p) => [p.digest, p]));
  await act(async () => {
    await Promise.resolve();
    root.render(
      <SessionContext.Provider
        value={{ client, session: { name: 'ops', role: 'operator' }, packs, signOut: () => {} }}
      >
        {element}
      </SessionContext.Provider>,
    );
  });
  return {
    container,
    unmount: () => {
      act(() => root.unmount());
      container.remove();
    },
  };
}

/** ms from mounting the Releases screen to its first rows shown (all N, or those in view). */
export async function releasesList(n: number): Promise<{ ms: number; rows: number }> {
  const items = Array.from({ length: n }, (_, i) => releaseOf(i));
  window.history.replaceState(null, '', '/releases');
  const start = performance.now();
  const view = await mount(<ReleasesScreen />, () => ({ items }));
  await until(() => view.container.textContent?.includes('release 0') === true);
  const ms = performance.now() - start;
  const rows = view.container.querySelectorAll('tbody tr:not([aria-hidden])').length;
  view.unmount();
  return { ms, rows };
}

/**
 * ms from mounting the Deploy Stage screen to "N targets" with its virtual rows shown (targets
 * paged 1000 at a time from the fake API), then ms to sort them by health and show the result.
 */
export async function targetsTable(
  n: number,
): Promise<{ load: number; sort: number; rows: number }> {
  const all = Array.from({ length: n }, (_, i) => targetOf(i));
  const release = { ...releaseOf(1), env: 'prod', channel: 'stable', state: 'rolling' as const };
  const start = performance.now();
  const view = await mount(<StageScreen id={release.id} index={0} />, (path) => {
    if (path.startsWith('/releases/')) return { release, why: null };
    const after = new URLSearchParams(path.split('?')[1] ?? '').get('after');
    const from = after === null ? 0 : all.findIndex((t) => t.id === after) + 1;
    return { items: all.slice(from, from + 1000) };
  });
  const shown = (): boolean =>
    view.container.textContent?.includes(`${n} targets`) === true &&
    view.container.querySelectorAll('tbody tr, [role="row"]').length > 0;
  await until(shown);
  const load = performance.now() - start;
  const rows = view.container.querySelectorAll('tbody tr, [role="row"]').length;
  const button = [...view.container.querySelectorAll('button')].find((b) =>
    /health|active/i.test(b.textContent ?? ''),
  );
  const sortStart = performance.now();
  if (button !== undefined) {
    await act(async () => {
      await Promise.resolve();
      button.click();
    });
  }
  const sort = performance.now() - sortStart;
  view.unmount();
  return { load, sort, rows };
}

/** The baseline: ms to mount a plain React table of N rows of four cells. */
export async function plainTable(n: number): Promise<number> {
  const rows = Array.from({ length: n }, (_, i) => i);
  const start = performance.now();
  const view = await mount(
    <table>
      <tbody>
        {rows.map((i) => (
          <tr key={i}>
            <td>rel_{i}</td>
            <td>prod</td>
            <td>completed</td>
            <td>kb@1.0.0</td>
          </tr>
        ))}
      </tbody>
    </table>,
    () => ({}),
  );
  await until(() => view.container.querySelectorAll('tbody tr').length === n);
  const ms = performance.now() - start;
  view.unmount();
  return ms;
}
