import { afterEach, beforeEach, expect, it } from 'vitest';
import { API_PREFIX, routesOf } from '../../src/app.ts';
import type { DecisionRecord } from '../../src/features/decisions/decision-store.ts';
import { hashToken } from '../../src/features/tokens/token-service.ts';
import { CHANNEL, createChannel, createWorld, ENV } from '../helpers/release-world.ts';
import type { World } from '../helpers/release-world.ts';
import { createTestApp } from '../helpers/test-app.ts';
import type { TestApp } from '../helpers/test-app.ts';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';

type Method = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';

/** Token management: admin tokens only. */
const ADMIN_ONLY_PATH = '/tokens';

/**
 * Everything an agent calls: register, report (for itself, or a relay for the agents behind it),
 * read what to run, fetch packs and index keys.
 */
const AGENT_ROUTES: readonly string[] = [
  'PUT /targets/:id',
  'POST /targets/:id/reports',
  'POST /reports',
  'GET /targets/:id/desired',
  'GET /channels/:env/:channel/index',
  'GET /channels/:env/:channel/events',
  'GET /packs/:digest',
  'GET /server/keys',
];

interface TokenBody {
  name: string;
  role: string;
  createdAt: string;
  revokedAt: string | null;
  scope?: { targets: string[]; channels: string[] };
}

/** The scope given to agent tokens these tests create. */
const AGENT_SCOPE = { targets: ['ci-host'], channels: ['prod-eu/stable'] };

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'token routes', () => {
    let t: TestApp;

    beforeEach(async () => {
      t = await createTestApp(dialect);
    });

    afterEach(async () => {
      await t.close();
    });

    const api = (method: Method, url: string, payload?: object, token = t.token) =>
      t.app.inject({
        method,
        url: `${API_PREFIX}${url}`,
        headers: { authorization: `Bearer ${token}` },
        ...(payload === undefined ? {} : { payload }),
      });

    /** Creates a token with the admin token and returns its secret (agents: AGENT_SCOPE). */
    const create = async (name: string, role: string, token = t.token): Promise<string> => {
      const scope = role === 'agent' ? { scope: AGENT_SCOPE } : {};
      const response = await api('POST', '/tokens', { name, role, ...scope }, token);
      expect(response.statusCode, response.body).toBe(201);
      return response.json<{ secret: string }>().secret;
    };

    it('creates a token with 201, shows its secret once and stores only its sha256', async () => {
      const response = await api('POST', '/tokens', { name: 'alice', role: 'operator' });
      expect(response.statusCode).toBe(201);
      const body = response.json<{ token: TokenBody; secret: string }>();
      expect(body).toEqual({
        token: {
          name: 'alice',
          role: 'operator',
          createdAt: '2026-01-01T00:00:01.000Z', // the token bootstrap read 00:00:00
          revokedAt: null,
        },
        secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) as unknown,
      });
      const stored = await t.stores.tokens.findByName('alice');
      expect(stored.map((token) => token.tokenHash)).toEqual([hashToken(body.secret)]);

      const listed = await api('GET', '/tokens');
      expect(listed.statusCode).toBe(200);
      expect(listed.json<{ items: TokenBody[] }>().items).toEqual([
        { name: 'admin', role: 'admin', createdAt: '2026-01-01T00:00:00.000Z', revokedAt: null },
        body.token,
      ]);
      expect(listed.body).not.toContain(body.secret);
      expect(listed.body).not.toContain(hashToken(body.secret));

      expect((await api('GET', '/packs', undefined, body.secret)).statusCode).toBe(200);
    });

    it('records token creations and revocations in the decision log, with the admin as actor', async () => {
      await create('alice', 'operator');
      expect((await api('DELETE', '/tokens/alice')).statusCode).toBe(200);
      const log = (await api('GET', '/decisions')).json<{ items: DecisionRecord[] }>().items;
      expect(log.map((r) => [r.kind, r.rule, r.actor, r.verdict, r.inputs])).toEqual([
        ['token', 'token.created', 'admin', 'created', { name: 'alice', role: 'operator' }],
        ['token', 'token.revoked', 'admin', 'revoked', { name: 'alice', role: 'operator' }],
      ]);
    });

    it('refuses a taken or reserved name with 409 CONFLICT, also once the token is revoked', async () => {
      await create('alice', 'operator');
      for (const name of ['alice', 'admin', 'controller']) {
        const response = await api('POST', '/tokens', { name, role: 'agent', scope: AGENT_SCOPE });
        expect(response.statusCode).toBe(409);
        expect(response.json()).toMatchObject({ code: 'CONFLICT', details: { name } });
      }
      await api('DELETE', '/tokens/alice');
      const again = await api('POST', '/tokens', { name: 'alice', role: 'operator' });
      expect(again.statusCode).toBe(409);
      expect(await t.stores.tokens.findByName('alice')).toHaveLength(1);
    });

    it('refuses a malformed name, an unknown role and unknown fields with 400 VALIDATION_FAILED', async () => {
      for (const payload of [
        { name: 'Alice', role: 'operator' },
        { name: '', role: 'operator' },
        { name: 'alice', role: 'root' },
        { name: 'alice' },
        { name: 'alice', role: 'operator', secret: 'mine' },
      ]) {
        const response = await api('POST', '/tokens', payload);
        expect(response.statusCode).toBe(400);
        expect(response.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
      }
      expect((await t.stores.tokens.list()).map((token) => token.name)).toEqual(['admin']);
    });

    it('revokes a token: refused with 401 at once, listed with revokedAt, and answered as is again', async () => {
      const secret = await create('ci-agent', 'agent');
      expect((await api('GET', '/server/keys', undefined, secret)).statusCode).toBe(200);

      const revoked = await api('DELETE', '/tokens/ci-agent');
      expect(revoked.statusCode).toBe(200);
      const { token } = revoked.json<{ token: TokenBody }>();
      expect(token).toEqual({
        name: 'ci-agent',
        role: 'agent',
        createdAt: '2026-01-01T00:00:01.000Z',
        revokedAt: expect.stringMatching(/^2026-01-01T00:00:0\d\.000Z$/) as unknown,
        scope: AGENT_SCOPE,
      });

      const refused = await api('GET', '/server/keys', undefined, secret);
      expect(refused.statusCode).toBe(401);
      expect(refused.json()).toMatchObject({ code: 'UNAUTHORIZED' });

      const listed = (await api('GET', '/tokens')).json<{ items: TokenBody[] }>().items;
      expect(listed.find((item) => item.name === 'ci-agent')).toEqual(token);
      const again = await api('DELETE', '/tokens/ci-agent');
      expect(again.statusCode).toBe(200);
      expect(again.json()).toEqual({ token });

      const unknown = await api('DELETE', '/tokens/nobody');
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json()).toMatchObject({
        code: 'TOKEN_NOT_FOUND',
        details: { name: 'nobody' },
      });
    });

    it('lets only admin tokens manage tokens: 403 FORBIDDEN for operator and agent tokens', async () => {
      const operator = await create('ops', 'operator');
      const agent = await create('ci-agent', 'agent');
      for (const secret of [operator, agent]) {
        for (const [method, url, payload] of [
          ['POST', '/tokens', { name: 'mallory', role: 'admin' }],
          ['GET', '/tokens', undefined],
          ['DELETE', '/tokens/ops', undefined],
        ] as const) {
          const response = await api(method, url, payload, secret);
          expect(response.statusCode, `${method} ${url}`).toBe(403);
          expect(response.json()).toMatchObject({ code: 'FORBIDDEN' });
        }
      }
      expect((await t.stores.tokens.list()).map((token) => [token.name, token.revokedAt])).toEqual([
        ['admin', null],
        ['ops', null],
        ['ci-agent', null],
      ]);
      const admin = await create('root', 'admin');
      await create('bob', 'operator', admin);
      expect((await api('GET', '/tokens', undefined, admin)).statusCode).toBe(200);
    });

    it('refuses to revoke the last admin token, and revokes the bootstrap one when another admin exists', async () => {
      const last = await api('DELETE', '/tokens/admin');
      expect(last.statusCode).toBe(409);
      expect(last.json()).toMatchObject({ code: 'CONFLICT' });
      expect((await api('GET', '/tokens')).statusCode).toBe(200);

      const root = await create('root', 'admin');
      const revoked = await api('DELETE', '/tokens/admin', undefined, root);
      expect(revoked.statusCode).toBe(200);
      expect((await api('GET', '/tokens')).statusCode).toBe(401);
      expect((await api('DELETE', '/tokens/root', undefined, root)).statusCode).toBe(409);
    });

    it('generates a new admin token on start when no admin token is active', async () => {
      const operator = await create('ops', 'operator');
      await t.stores.tokens.revokeByName('admin', '2026-01-02T00:00:00.000Z');
      const { generatedAdminToken } = await t.services.tokens.bootstrap();
      expect(generatedAdminToken).not.toBeNull();
      expect((await api('GET', '/tokens', undefined, generatedAdminToken ?? '')).statusCode).toBe(
        200,
      );
      expect((await api('GET', '/packs', undefined, operator)).statusCode).toBe(200);
      expect(await t.services.tokens.bootstrap()).toEqual({ generatedAdminToken: null });
    });

    it('declares on the routes themselves that agents call exactly the agent routes and only admins manage tokens', () => {
      const declared = routesOf(t.app)
        .filter((route) => route.url.startsWith(`${API_PREFIX}/`) && route.method !== 'HEAD')
        .map((route) => ({ key: `${route.method} ${route.url.slice(API_PREFIX.length)}`, route }));
      const openTo = (role: string) =>
        declared.filter(({ route }) => route.config.roles?.includes(role as never) === true);
      expect(openTo('agent').map(({ key }) => key)).toEqual(
        expect.arrayContaining([...AGENT_ROUTES]),
      );
      expect(openTo('agent')).toHaveLength(AGENT_ROUTES.length);
      const adminOnly = declared.filter(({ route }) => route.config.roles?.join() === 'admin');
      expect(adminOnly.map(({ key }) => key).sort()).toEqual(
        [
          `DELETE ${ADMIN_ONLY_PATH}/:name`,
          `GET ${ADMIN_ONLY_PATH}`,
          `POST ${ADMIN_ONLY_PATH}`,
          // webhook subscriptions hold their signing secrets
          'DELETE /webhooks/:name',
          'GET /webhooks',
          'GET /webhooks/:name/deliveries',
          'POST /webhooks',
          'POST /webhooks/:name/test',
        ].sort(),
      );
      for (const route of [...AGENT_ROUTES, `GET ${ADMIN_ONLY_PATH}`]) {
        const [method = '', path = ''] = route.split(' ');
        expect(t.app.hasRoute({ method, url: `${API_PREFIX}${path}` }), route).toBe(true);
      }
    });
  });

  describeDialect(dialect, 'token roles on the release API', () => {
    let w: World;
    let agent: Record<string, string>;
    let operator: Record<string, string>;

    const tokenHeaders = async (
      name: string,
      role: string,
      scope?: { targets: string[]; channels: string[] },
    ): Promise<Record<string, string>> => {
      const created = await w.call<{ secret: string }>('POST', '/tokens', {
        name,
        role,
        ...(scope === undefined ? {} : { scope }),
      });
      if (created.status !== 201) throw new Error(JSON.stringify(created.body));
      return { authorization: `Bearer ${created.body.secret}` };
    };

    beforeEach(async () => {
      w = await createWorld(dialect);
      await createChannel(w);
      agent = await tokenHeaders('ci-agent', 'agent', {
        targets: ['t-1'],
        channels: [`${ENV}/${CHANNEL}`],
      });
      operator = await tokenHeaders('ops', 'operator');
    });

    afterEach(async () => {
      await w.close();
    });

    const release = {
      env: ENV,
      channel: CHANNEL,
      pack: 'kb@2.0.0',
      reason: 'ship it',
    };

    it('lets an agent token register, report, read its desired pack, the index, keys and packs', async () => {
      const digest = w.packs.v1.digest;
      const allowed: [Method, string, unknown, number][] = [
        ['PUT', '/targets/t-1', { env: ENV, channel: CHANNEL, labels: { zone: 'a' } }, 201],
        ['POST', '/targets/t-1/reports', { activePack: null }, 202],
        ['GET', '/targets/t-1/desired', undefined, 200],
        ['GET', `/channels/${ENV}/${CHANNEL}/index`, undefined, 200],
        ['GET', `/packs/${digest}`, undefined, 200],
        ['HEAD', `/packs/${digest}`, undefined, 200],
        ['GET', '/server/keys', undefined, 200],
      ];
      for (const [method, url, payload, status] of allowed) {
        const response = await w.t.app.inject({
          method,
          url: `${API_PREFIX}${url}`,
          headers: agent,
          ...(payload === undefined ? {} : { payload: payload as object }),
        });
        expect(response.statusCode, `${method} ${url}: ${response.body}`).toBe(status);
      }

      const address = await w.t.app.listen({ host: '127.0.0.1', port: 0 });
      const abort = new AbortController();
      const events = await fetch(`${address}${API_PREFIX}/channels/${ENV}/${CHANNEL}/events`, {
        headers: agent,
        signal: abort.signal,
      });
      expect(events.status).toBe(200);
      abort.abort();
      await events.body?.cancel().catch(() => undefined);
    });

    it('refuses an agent token everything else with 403 FORBIDDEN, before reading the body', async () => {
      const refused: ['GET' | 'PUT' | 'POST' | 'DELETE', string, unknown][] = [
        ['POST', '/releases', release],
        ['GET', '/releases', undefined],
        ['POST', '/releases/rel_x/approve', { reason: 'me' }],
        ['GET', '/targets', undefined],
        ['GET', '/targets/t-1', undefined],
        ['GET', '/packs', undefined],
        ['GET', '/packs/kb@1.0.0/manifest', undefined],
        ['POST', `/packs/${w.packs.v1.digest}/revoke`, { reason: 'no' }],
        ['PUT', `/environments/${ENV}/channels/${CHANNEL}`, { floor: 9 }],
        ['PUT', '/plans/mine', { stages: [] }],
        ['POST', '/trust/keys', { publicKeyPem: 'x' }],
        ['GET', '/decisions', undefined],
        ['GET', '/tokens', undefined],
      ];
      for (const [method, url, payload] of refused) {
        const answer = await w.call(method, url, payload, agent);
        expect(answer.status, `${method} ${url}`).toBe(403);
        expect(answer.body).toMatchObject({
          code: 'FORBIDDEN',
          details: { role: 'agent', route: expect.stringContaining(API_PREFIX) as unknown },
        });
      }
      const pushed = await w.t.app.inject({
        method: 'POST',
        url: `${API_PREFIX}/packs`,
        headers: { ...agent, 'content-type': 'application/gzip' },
        payload: Buffer.from('not a pack'),
      });
      expect(pushed.statusCode).toBe(403);
      const releases = await w.call<{ items: unknown[] }>('GET', '/releases');
      expect(releases.body.items).toEqual([]);
    });

    it('lets an operator token do the rest, recorded under its name', async () => {
      const created = await w.call<{ release: { requestedBy: string } }>(
        'POST',
        '/releases',
        release,
        operator,
      );
      expect(created.status).toBe(201);
      expect(created.body.release.requestedBy).toBe('ops');
      expect((await w.call('GET', '/decisions', undefined, operator)).status).toBe(200);
      expect((await w.call('GET', '/tokens', undefined, operator)).status).toBe(403);
    });
  });
}
