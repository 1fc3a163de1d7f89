import { afterEach, beforeEach, expect, it } from 'vitest';
import { API_PREFIX, buildApp, OPENAPI_PATH, routesOf } from '../../src/app.ts';
import type { DeclaredRoute } from '../../src/http/route-table.ts';
import {
  baseline,
  CHANNEL,
  createChannel,
  createRelease,
  createWorld,
  ENV,
  putPlan,
} from '../helpers/release-world.ts';
import type { World } from '../helpers/release-world.ts';
import { createTestApp } from '../helpers/test-app.ts';
import type { TestApp } from '../helpers/test-app.ts';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';

/** A URL for a declared route: each `:param` becomes a value that names nothing real. */
function urlOf(route: DeclaredRoute): string {
  return route.url.replace(/:([A-Za-z]+)/g, (_match, name: string) =>
    name === 'command' ? 'pause' : `x-${name}`,
  );
}

const isRead = (route: DeclaredRoute): boolean => route.method === 'GET' || route.method === 'HEAD';

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'route roles', () => {
    let t: TestApp;

    beforeEach(async () => {
      t = await createTestApp(dialect);
    });

    afterEach(async () => {
      await t.close();
    });

    it('has every route declare the roles that may call it, or that it is public', () => {
      const routes = routesOf(t.app);
      expect(routes.length).toBeGreaterThan(30);
      const undeclared = routes.filter(
        (route) => route.config.public !== true && (route.config.roles ?? []).length === 0,
      );
      expect(undeclared.map((route) => `${route.method} ${route.url}`)).toEqual([]);
      // The console's built files (one route per file, named by content hash) are public reads.
      const consoleFile = (route: (typeof routes)[number]): boolean =>
        'rootPath' in route.config && typeof route.config.rootPath === 'string';
      for (const route of routes.filter(consoleFile)) {
        expect(route.config.public, route.url).toBe(true);
        expect(['GET', 'HEAD'], route.url).toContain(route.method);
      }
      const open = routes
        .filter((route) => route.config.public === true && !consoleFile(route))
        .map((route) => `${route.method} ${route.url}`);
      expect(open.sort()).toEqual([
        `GET ${OPENAPI_PATH}`,
        'GET /healthz',
        'GET /readyz',
        `HEAD ${OPENAPI_PATH}`,
        'HEAD /healthz',
        'HEAD /readyz',
        `POST ${API_PREFIX}/console/sign-in`,
      ]);
    });

    it('opens every read but token management to viewers, and no mutation', () => {
      const routes = routesOf(t.app).filter((route) => route.url.startsWith(`${API_PREFIX}/`));
      for (const route of routes) {
        const key = `${route.method} ${route.url}`;
        const viewer = route.config.roles?.includes('viewer') === true;
        if (!isRead(route)) expect(viewer, key).toBe(false);
        else if (route.config.public !== true) {
          // Tokens and webhook subscriptions hold secrets: admins only.
          const secrets = ['tokens', 'webhooks'].some((path) =>
            route.url.startsWith(`${API_PREFIX}/${path}`),
          );
          expect(viewer, key).toBe(!secrets);
        }
      }
    });

    it('does not start with a route that declares no roles', async () => {
      const app = buildApp({ config: t.config, services: t.services });
      try {
        expect(() => app.get('/extra', {}, () => ({}))).toThrow(
          'Route GET /extra declares no roles (config.roles) and is not public.',
        );
        expect(() => app.get('/empty', { config: { roles: [] } }, () => ({}))).toThrow(
          /declares no roles/,
        );
      } finally {
        await app.close();
      }
    });

    it('does not start with a viewer on a mutation, or an agent route that names no scope kind', async () => {
      const app = buildApp({ config: t.config, services: t.services });
      try {
        expect(() =>
          app.post('/extra', { config: { roles: ['admin', 'viewer'] } }, () => ({})),
        ).toThrow(/lets viewer tokens call a method that is not a read/);
        expect(() => app.get('/agent', { config: { roles: ['agent'] } }, () => ({}))).toThrow(
          /open to agent tokens without declaring agentScope/,
        );
        expect(() =>
          app.get('/both', { config: { public: true, roles: ['admin'] } }, () => ({})),
        ).toThrow(/declares both public and roles/);
      } finally {
        await app.close();
      }
    });
  });

  describeDialect(dialect, 'the viewer role', () => {
    let w: World;
    let viewer: Record<string, string>;
    let releaseId: string;

    beforeEach(async () => {
      w = await createWorld(dialect);
      await createChannel(w);
      await baseline(w, w.packs.v1);
      await putPlan(w, 'slow', [
        { name: 'canary', percent: 10, soakSeconds: 600, gates: [] },
        { name: 'all', percent: 100, soakSeconds: 0, gates: [] },
      ]);
      releaseId = (await createRelease(w, { pack: w.packs.v2.digest, plan: 'slow' })).id;
      const created = await w.call<{ secret: string; token: { role: string } }>('POST', '/tokens', {
        name: 'auditor',
        role: 'viewer',
      });
      expect(created.status).toBe(201);
      expect(created.body.token.role).toBe('viewer');
      viewer = { authorization: `Bearer ${created.body.secret}` };
    });

    afterEach(async () => {
      await w.close();
    });

    it('reads releases, channels, targets, packs and decisions', async () => {
      const reads = [
        '/releases',
        `/releases/${releaseId}`,
        `/releases/${releaseId}/timeline`,
        `/environments/${ENV}/channels/${CHANNEL}`,
        `/channels/${ENV}/${CHANNEL}/index`,
        '/environments',
        '/targets',
        '/packs',
        `/packs/${w.packs.v1.digest}/manifest`,
        '/decisions',
        '/plans',
        '/builds',
        '/revocations',
        '/server/keys',
      ];
      for (const url of reads) {
        const answer = await w.call('GET', url, undefined, viewer);
        expect(answer.status, `GET ${url}: ${JSON.stringify(answer.body)}`).toBe(200);
      }
      const tokens = await w.call('GET', '/tokens', undefined, viewer);
      expect(tokens.status).toBe(403);
      expect(tokens.body).toMatchObject({ code: 'FORBIDDEN' });
    });

    it('is refused every POST, PUT and DELETE with FORBIDDEN, and changes nothing', async () => {
      const before = await w.call('GET', `/environments/${ENV}/channels/${CHANNEL}`);
      const mutations = routesOf(w.t.app).filter(
        (route) =>
          route.url.startsWith(`${API_PREFIX}/`) && !isRead(route) && route.config.public !== true,
      );
      expect(mutations.map((route) => route.method).sort()).toEqual(
        expect.arrayContaining(['DELETE', 'POST', 'PUT']),
      );
      for (const route of mutations) {
        const response = await w.t.app.inject({
          method: route.method as 'POST' | 'PUT' | 'DELETE',
          url: urlOf(route),
          headers: viewer,
          payload: { reason: 'look only' },
        });
        expect(response.statusCode, `${route.method} ${route.url}`).toBe(403);
        expect(response.json()).toMatchObject({
          code: 'FORBIDDEN',
          details: { role: 'viewer', route: `${route.method} ${route.url}` },
        });
      }
      for (const [method, url, body] of [
        ['POST', `/releases/${releaseId}/pause`, { reason: 'stop' }],
        ['POST', '/releases', { env: ENV, channel: CHANNEL, pack: 'kb@3.0.0', reason: 'x' }],
        ['PUT', `/environments/${ENV}/channels/${CHANNEL}`, { floor: 2 }],
        ['DELETE', `/environments/${ENV}/channels/${CHANNEL}/pins/_`, { reason: 'x' }],
        ['PUT', '/targets/t-1', { env: ENV, channel: CHANNEL, labels: {} }],
      ] as const) {
        const answer = await w.call(method, url, body, viewer);
        expect(answer.status, `${method} ${url}`).toBe(403);
      }
      expect((await w.call('GET', `/environments/${ENV}/channels/${CHANNEL}`)).body).toEqual(
        before.body,
      );
      const release = await w.call<{ release: { state: string } }>('GET', `/releases/${releaseId}`);
      expect(release.body.release.state).not.toBe('paused');
    });
  });
}
