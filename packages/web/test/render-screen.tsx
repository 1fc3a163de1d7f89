import { render } from '@testing-library/react';
import type { ReactElement } from 'react';
import { ApiClient } from '../src/api/client.ts';
import type { PackSummary, TokenRole } from '@lockgate/api';
import { SessionContext } from '../src/app/session.tsx';

/** What the fake server answers for `METHOD /path` (path without /api/v1, query included). */
export type Answer = { status?: number; body: unknown } | 'hang';

export interface FakeServer {
  answers: Record<string, Answer>;
  calls: { method: string; path: string; body: unknown }[];
}

/**
 * A fetch that answers from a table, so each screen state can be shown without a server (the
 * browser tests run the real one). Unknown routes answer 404 NOT_FOUND.
 */
export function fakeFetch(server: FakeServer): typeof fetch {
  return (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const path = url.replace(/^.*\/api\/v1/, '');
    const method = init?.method ?? 'GET';
    server.calls.push({
      method,
      path,
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
    });
    const answer =
      server.answers[`${method} ${path}`] ?? server.answers[`${method} ${path.split('?')[0]}`];
    if (answer === 'hang') return new Promise<Response>(() => undefined);
    const { status = 200, body } = answer ?? {
      status: 404,
      body: { code: 'NOT_FOUND', message: `No route ${method} ${path}.` },
    };
    return Promise.resolve(
      new Response(JSON.stringify(body), {
        status,
        headers: { 'content-type': 'application/json' },
      }),
    );
  };
}

export const PACKS: PackSummary[] = [
  {
    digest: `sha256:${'a'.repeat(64)}`,
    name: 'kb',
    version: '1.0.0',
    sequence: 1,
    size: 100,
    buildId: 'build-1',
    createdAt: '2026-01-01T00:00:00Z',
    pushedAt: '2026-01-01T00:00:00Z',
  },
  {
    digest: `sha256:${'b'.repeat(64)}`,
    name: 'kb',
    version: '2.0.0',
    sequence: 2,
    size: 100,
    buildId: 'build-2',
    createdAt: '2026-01-02T00:00:00Z',
    pushedAt: '2026-01-02T00:00:00Z',
  },
];

export function renderScreen(
  element: ReactElement,
  answers: Record<string, Answer>,
  role: TokenRole = 'operator',
): FakeServer & ReturnType<typeof render> {
  const server: FakeServer = { answers, calls: [] };
  const client = new ApiClient('token', fakeFetch(server));
  const packs = new Map(PACKS.map((p) => [p.digest, p]));
  const result = render(
    <SessionContext.Provider
      value={{ client, session: { name: 'ops', role }, packs, signOut: () => undefined }}
    >
      {element}
    </SessionContext.Provider>,
  );
  return Object.assign(result, server);
}
