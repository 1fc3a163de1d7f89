import { afterEach, beforeEach, expect, it } from 'vitest';
import { API_PREFIX } from '../../src/app.ts';
import type { DecisionRecord } from '../../src/features/decisions/decision-store.ts';
import { hashToken } from '../../src/features/tokens/token-service.ts';
import { createTestApp } from '../helpers/test-app.ts';
import type { TestAppOptions } from '../helpers/test-app.ts';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';
import type { TestDialect } from '../helpers/test-database.ts';

type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

interface Scope {
  targets: string[];
  channels: string[];
}

const ENV = 'prod-eu';
const HOST_1_SCOPE: Scope = { targets: ['host-1'], channels: [`${ENV}/stable`] };

/** A test app with environment prod-eu and channels stable, canary and lts. */
async function scopedWorld(dialect: TestDialect, options: TestAppOptions = {}) {
  const t = await createTestApp(dialect, {}, options);
  const call = async <T = Record<string, unknown>>(
    method: Method,
    url: string,
    payload?: object,
    token = t.token,
  ): Promise<{ status: number; body: T }> => {
    const response = await t.app.inject({
      method,
      url: `${API_PREFIX}${url}`,
      headers: { authorization: `Bearer ${token}` },
      ...(payload === undefined ? {} : { payload }),
    });
    return {
      status: response.statusCode,
      body: (response.body === '' ? {} : response.json()) as T,
    };
  };
  const ok = async (method: Method, url: string, payload?: object): Promise<void> => {
    const answer = await call(method, url, payload);
    if (answer.status >= 300) throw new Error(`${method} ${url}: ${JSON.stringify(answer.body)}`);
  };
  await ok('PUT', `/environments/${ENV}`, { description: 'EU production' });
  await ok('PUT', '/environments/prod-us', { description: 'US production' });
  for (const channel of ['stable', 'canary', 'lts']) {
    await ok('PUT', `/environments/${ENV}/channels/${channel}`, {});
  }
  await ok('PUT', '/environments/prod-us/channels/stable', {});
  /** Creates an agent token with this scope and returns its secret. */
  const agentToken = async (name: string, scope: Scope): Promise<string> => {
    const created = await call<{ secret: string }>('POST', '/tokens', {
      name,
      role: 'agent',
      scope,
    });
    if (created.status !== 201) throw new Error(JSON.stringify(created.body));
    return created.body.secret;
  };
  const register = (id: string, channel: string, token = t.token, env = ENV) =>
    call('PUT', `/targets/${id}`, { env, channel, labels: {} }, token);
  return { t, call, ok, agentToken, register };
}

type ScopedWorld = Awaited<ReturnType<typeof scopedWorld>>;

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'agent token scopes', () => {
    let w: ScopedWorld;
    let host1 = '';

    beforeEach(async () => {
      w = await scopedWorld(dialect);
      host1 = await w.agentToken('agent-host-1', HOST_1_SCOPE);
    });

    afterEach(async () => {
      await w.t.close();
    });

    const expectForbidden = (
      answer: { status: number; body: unknown },
      message: RegExp,
      what: string,
    ): void => {
      expect(answer.status, `${what}: ${JSON.stringify(answer.body)}`).toBe(403);
      expect(answer.body).toMatchObject({
        code: 'FORBIDDEN',
        message: expect.stringMatching(message) as unknown,
        details: { token: 'agent-host-1' },
      });
    };

    it('lets an agent token for host-1 register, report for and read what host-1 runs in its channel', async () => {
      expect((await w.register('host-1', 'stable', host1)).status).toBe(201);
      expect((await w.register('host-1', 'stable', host1)).status).toBe(200);
      const reported = await w.call('POST', '/targets/host-1/reports', { activePack: null }, host1);
      expect(reported.status).toBe(202);
      expect((await w.call('GET', '/targets/host-1/desired', undefined, host1)).status).toBe(200);
      expect((await w.call('GET', `/channels/${ENV}/stable/index`, undefined, host1)).status).toBe(
        200,
      );
    });

    it('refuses an agent token for host-1 to register host-2, with 403 FORBIDDEN naming its scope', async () => {
      const answer = await w.register('host-2', 'stable', host1);
      expectForbidden(
        answer,
        /may not speak for target host-2: its scope is targets host-1; channels prod-eu\/stable/,
        'PUT host-2',
      );
      expect(answer.body).toMatchObject({ details: { target: 'host-2', scope: HOST_1_SCOPE } });
      expect((await w.call('GET', '/targets/host-2')).status).toBe(404);
      // Refused before the body is read: a malformed body changes nothing.
      const unread = await w.call('PUT', '/targets/host-2', { nonsense: true }, host1);
      expect(unread.status).toBe(403);
    });

    it('refuses an agent token for host-1 to post reports for host-2, and records none', async () => {
      expect((await w.register('host-2', 'stable')).status).toBe(201);
      const answer = await w.call(
        'POST',
        '/targets/host-2/reports',
        { activePack: null, health: { requests: 1000, errors: 0 } },
        host1,
      );
      expectForbidden(answer, /may not speak for target host-2/, 'POST host-2 reports');
      const target = await w.call<{ target: { lastReportAt: string | null } }>(
        'GET',
        '/targets/host-2',
      );
      expect(target.body.target.lastReportAt).toBeNull();
      expect(
        (await w.call('GET', '/targets/host-2/desired', undefined, host1)).status,
        'GET host-2 desired',
      ).toBe(403);
    });

    it('refuses to move host-1 to a channel outside the scope, and leaves it where it was', async () => {
      expect((await w.register('host-1', 'stable', host1)).status).toBe(201);
      const moved = await w.register('host-1', 'canary', host1);
      expectForbidden(
        moved,
        /may not register host-1 in prod-eu\/canary: its scope is/,
        'move to canary',
      );
      expect(moved.body).toMatchObject({ details: { env: ENV, channel: 'canary' } });
      const elsewhere = await w.register('host-1', 'stable', host1, 'prod-us');
      expect(elsewhere.status, 'move to prod-us/stable').toBe(403);
      const target = await w.call<{ target: { env: string; channel: string } }>(
        'GET',
        '/targets/host-1',
      );
      expect(target.body.target).toMatchObject({ env: ENV, channel: 'stable' });
      const log = await w.call<{ items: DecisionRecord[] }>('GET', '/decisions');
      expect(log.body.items.filter((r) => r.rule === 'target.moved')).toEqual([]);
    });

    it('refuses to take host-1 out of a channel outside the scope, or to speak for it there', async () => {
      expect((await w.register('host-1', 'canary')).status).toBe(201);
      const moved = await w.register('host-1', 'stable', host1);
      expectForbidden(moved, /may not move host-1 out of prod-eu\/canary/, 'move from canary');
      const reported = await w.call('POST', '/targets/host-1/reports', { activePack: null }, host1);
      expectForbidden(reported, /may not report for host-1 in prod-eu\/canary/, 'report');
      const desired = await w.call('GET', '/targets/host-1/desired', undefined, host1);
      expectForbidden(desired, /may not read what host-1 runs in prod-eu\/canary/, 'desired');
      const target = await w.call<{ target: { channel: string; lastReportAt: string | null } }>(
        'GET',
        '/targets/host-1',
      );
      expect(target.body.target).toMatchObject({ channel: 'canary', lastReportAt: null });
    });

    it('refuses to read the index or events of a channel outside the scope', async () => {
      for (const url of [`/channels/${ENV}/canary/index`, `/channels/${ENV}/canary/events`]) {
        expectForbidden(
          await w.call('GET', url, undefined, host1),
          /may not read the channel prod-eu\/canary/,
          url,
        );
      }
    });

    it('matches patterns: host-* and prod-eu/* cover host-7 in every prod-eu channel, not db-1 nor prod-us', async () => {
      const fleet = await w.agentToken('fleet-eu', {
        targets: ['host-*', 'edge-*-a'],
        channels: [`${ENV}/*`],
      });
      expect((await w.register('host-7', 'stable', fleet)).status).toBe(201);
      expect((await w.register('host-7', 'canary', fleet)).status).toBe(200);
      expect((await w.register('edge-3-a', 'lts', fleet)).status).toBe(201);
      expect((await w.call('GET', `/channels/${ENV}/lts/index`, undefined, fleet)).status).toBe(
        200,
      );
      for (const [id, env] of [
        ['db-1', ENV],
        ['edge-3-b', ENV],
        ['host-8', 'prod-us'],
      ] as const) {
        const answer = await w.register(id, 'stable', fleet, env);
        expect(answer.status, `${id} in ${env}`).toBe(403);
        expect(answer.body).toMatchObject({ code: 'FORBIDDEN', details: { token: 'fleet-eu' } });
      }
      expect((await w.call('GET', '/channels/prod-us/stable/index', undefined, fleet)).status).toBe(
        403,
      );
    });

    it('lets tokens whose scopes cover the same target both speak for it: the scope is the authority', async () => {
      const rotated = await w.agentToken('agent-host-1-b', HOST_1_SCOPE);
      expect((await w.register('host-1', 'stable', host1)).status).toBe(201);
      expect((await w.register('host-1', 'stable', rotated)).status).toBe(200);
      expect((await w.call('DELETE', '/tokens/agent-host-1')).status).toBe(200);
      expect((await w.register('host-1', 'stable', host1)).status).toBe(401);
      expect((await w.register('host-1', 'stable', rotated)).status).toBe(200);
    });

    it('refuses an agent token stored without a scope everything, saying how to replace it', async () => {
      const legacy = 'legacy-agent-token-0123456789abcdef';
      await w.t.stores.tokens.insert({
        id: 'tok_legacy',
        name: 'old-agent',
        tokenHash: hashToken(legacy),
        role: 'agent',
        createdAt: '2025-12-01T00:00:00.000Z',
        revokedAt: null,
      });
      for (const [method, url, payload] of [
        ['PUT', '/targets/host-1', { env: ENV, channel: 'stable', labels: {} }],
        ['GET', `/channels/${ENV}/stable/index`, undefined],
        ['GET', '/server/keys', undefined],
      ] as const) {
        const answer = await w.call(method, url, payload, legacy);
        expect(answer.status, `${method} ${url}`).toBe(403);
        expect(answer.body).toMatchObject({
          code: 'FORBIDDEN',
          message: expect.stringMatching(/has no scope .* speaks for nothing/) as unknown,
        });
      }
      const listed = await w.call<{ items: { name: string; scope?: Scope }[] }>('GET', '/tokens');
      expect(listed.body.items.find((token) => token.name === 'old-agent')?.scope).toEqual({
        targets: [],
        channels: [],
      });
    });

    it('keeps admin and operator tokens unrestricted', async () => {
      const operator = await w.call<{ secret: string }>('POST', '/tokens', {
        name: 'ops',
        role: 'operator',
      });
      expect((await w.register('anything-1', 'lts', operator.body.secret)).status).toBe(201);
      expect((await w.register('anything-1', 'canary')).status).toBe(200);
    });

    it('needs a well-formed scope for an agent token and refuses one for other roles with 400', async () => {
      for (const payload of [
        { name: 'a1', role: 'agent' },
        { name: 'a2', role: 'agent', scope: { targets: [], channels: [`${ENV}/stable`] } },
        { name: 'a3', role: 'agent', scope: { targets: ['host-1'], channels: [] } },
        { name: 'a4', role: 'agent', scope: { targets: ['host/1'], channels: [`${ENV}/stable`] } },
        { name: 'a5', role: 'agent', scope: { targets: ['host-1'], channels: [ENV] } },
        { name: 'a6', role: 'agent', scope: { targets: ['host-1'], channels: ['Prod/stable'] } },
        { name: 'a7', role: 'agent', scope: { targets: ['host-1'] } },
        { name: 'o1', role: 'operator', scope: HOST_1_SCOPE },
        { name: 'o2', role: 'admin', scope: HOST_1_SCOPE },
      ]) {
        const answer = await w.call('POST', '/tokens', payload);
        expect(answer.status, JSON.stringify(payload)).toBe(400);
        expect(answer.body).toMatchObject({ code: 'VALIDATION_FAILED' });
      }
      const names = (await w.t.stores.tokens.list()).map((token) => token.name);
      expect(names).toEqual(['admin', 'agent-host-1']);
    });

    it('shows and records the scope of an agent token', async () => {
      const listed = await w.call<{ items: { name: string; scope?: Scope }[] }>('GET', '/tokens');
      expect(listed.body.items.map((token) => [token.name, token.scope])).toEqual([
        ['admin', undefined],
        ['agent-host-1', HOST_1_SCOPE],
      ]);
      const log = await w.call<{ items: DecisionRecord[] }>('GET', '/decisions');
      const created = log.body.items.find((r) => r.rule === 'token.created');
      expect(created?.inputs).toEqual({
        name: 'agent-host-1',
        role: 'agent',
        scope: HOST_1_SCOPE,
      });
    });
  });

  describeDialect(dialect, 'event streams of revoked tokens', () => {
    let w: ScopedWorld | null = null;

    afterEach(async () => {
      await w?.t.close();
      w = null;
    });

    /** Opens the events stream of prod-eu/stable and reads up to its first index event. */
    const openStream = async (address: string, token: string) => {
      const response = await fetch(`${address}${API_PREFIX}/channels/${ENV}/stable/events`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(200);
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let text = '';
      for (let reads = 0; reads < 100 && !text.includes('event: index'); reads += 1) {
        const chunk = await reader.read();
        if (chunk.done) break;
        text += decoder.decode(chunk.value, { stream: true });
      }
      expect(text).toContain('event: index');
      /** Reads until the server ends the stream (bounded by count and the test's timeout). */
      const untilEnd = async (): Promise<{ ended: boolean; text: string }> => {
        for (let reads = 0; reads < 1000; reads += 1) {
          const chunk = await reader.read();
          if (chunk.done) return { ended: true, text };
          text += decoder.decode(chunk.value, { stream: true });
        }
        return { ended: false, text };
      };
      return { untilEnd, cancel: () => reader.cancel().catch(() => undefined) };
    };

    it('ends the open event stream of a token when it is revoked, and keeps the others open', async () => {
      // The hub does not poll within the test: only the revocation itself can end the stream.
      w = await scopedWorld(dialect, { eventsPollMs: 3_600_000 });
      const revoked = await w.agentToken('agent-host-1', HOST_1_SCOPE);
      const kept = await w.agentToken('agent-host-2', {
        targets: ['host-2'],
        channels: [`${ENV}/stable`],
      });
      const address = await w.t.app.listen({ host: '127.0.0.1', port: 0 });
      const doomed = await openStream(address, revoked);
      const other = await openStream(address, kept);
      expect(w.t.services.events.size()).toBe(2);

      expect((await w.call('DELETE', '/tokens/agent-host-1')).status).toBe(200);
      const { ended, text } = await doomed.untilEnd();
      expect(ended).toBe(true);
      expect(text).toContain(': token revoked');
      expect(w.t.services.events.size()).toBe(1);
      await other.cancel();
    }, 30_000);

    it('ends the stream of a token revoked by another replica (seen in the stored tokens)', async () => {
      // The hub polls often, so that what another replica stored is seen soon.
      w = await scopedWorld(dialect, { eventsPollMs: 50 });
      const revoked = await w.agentToken('agent-host-1', HOST_1_SCOPE);
      const address = await w.t.app.listen({ host: '127.0.0.1', port: 0 });
      const stream = await openStream(address, revoked);
      // Straight in the database, as another replica's revocation would be.
      await w.t.stores.tokens.revokeByName('agent-host-1', '2026-01-02T00:00:00.000Z');
      const { ended } = await stream.untilEnd();
      expect(ended).toBe(true);
    }, 30_000);
  });
}
