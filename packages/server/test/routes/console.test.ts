import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSignInCodes } from '../../src/features/console/sign-in-codes.ts';
import type { SignInCodes } from '../../src/features/console/sign-in-codes.ts';
import { createTestApp, manualClock } from '../helpers/test-app.ts';
import type { TestApp } from '../helpers/test-app.ts';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';

describe('console sign-in codes', () => {
  it('redeem a code once, for its token', () => {
    const codes = createSignInCodes(() => new Date('2026-01-01T00:00:00Z'));
    const code = codes.issue('the-token');
    expect(codes.redeem(code)).toBe('the-token');
    expect(codes.redeem(code)).toBeNull();
  });

  it('never redeem a code past its expiry or one never issued', () => {
    const clock = manualClock();
    const codes = createSignInCodes(clock.clock, 60_000);
    const code = codes.issue('the-token');
    clock.advance(60);
    expect(codes.redeem(code)).toBeNull();
    expect(codes.redeem('never-issued')).toBeNull();
  });
});

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'the console: pages, sign-in, session and change events', () => {
    let t: TestApp;
    let codes: SignInCodes;
    let consoleDir: string;

    beforeEach(async () => {
      consoleDir = await mkdtemp(join(tmpdir(), 'lockgate-console-'));
      await mkdir(join(consoleDir, 'assets'));
      await writeFile(join(consoleDir, 'index.html'), '<!doctype html><title>console</title>');
      await writeFile(join(consoleDir, 'assets', 'app-abc.js'), 'console.log(1)');
      codes = createSignInCodes(() => new Date());
      t = await createTestApp(dialect, {}, { signInCodes: codes, consoleDir, sseHeartbeatMs: 50 });
    });

    afterEach(async () => {
      await t.close();
      await rm(consoleDir, { recursive: true, force: true });
    });

    it('serves the console page at / and at client routes, with a content security policy', async () => {
      for (const url of ['/', '/releases/rel_1?env=prod']) {
        const response = await t.app.inject({
          method: 'GET',
          url,
          headers: { accept: 'text/html' },
        });
        expect(response.statusCode).toBe(200);
        expect(response.body).toContain('<title>console</title>');
        expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      }
      const asset = await t.app.inject({ method: 'GET', url: '/assets/app-abc.js' });
      expect(asset.statusCode).toBe(200);
      expect(asset.headers['cache-control']).toContain('immutable');
    });

    it('keeps JSON 404 answers for the API, unknown files and non-HTML requests', async () => {
      const api = await t.app.inject({
        method: 'GET',
        url: '/api/v1/nothing-here',
        headers: { accept: 'text/html', ...t.auth },
      });
      expect(api.statusCode).toBe(404);
      expect(api.json()).toMatchObject({ code: 'NOT_FOUND' });
      const file = await t.app.inject({ method: 'GET', url: '/assets/missing.js' });
      expect(file.statusCode).toBe(404);
      const json = await t.app.inject({ method: 'GET', url: '/releases' });
      expect(json.statusCode).toBe(404);
      const post = await t.app.inject({
        method: 'POST',
        url: '/releases',
        headers: { accept: 'text/html' },
      });
      expect(post.statusCode).toBe(404);
    });

    it('exchanges a sign-in code once for its token, and refuses it the second time', async () => {
      const code = codes.issue(t.token);
      const first = await t.app.inject({
        method: 'POST',
        url: '/api/v1/console/sign-in',
        payload: { code },
      });
      expect(first.statusCode).toBe(200);
      expect(first.json()).toEqual({ token: t.token, session: { name: 'admin', role: 'admin' } });
      const second = await t.app.inject({
        method: 'POST',
        url: '/api/v1/console/sign-in',
        payload: { code },
      });
      expect(second.statusCode).toBe(401);
      expect(second.json()).toMatchObject({ code: 'UNAUTHORIZED' });
    });

    it('tells a token its name and role, and refuses an agent token', async () => {
      const session = await t.app.inject({
        method: 'GET',
        url: '/api/v1/session',
        headers: t.auth,
      });
      expect(session.json()).toEqual({ name: 'admin', role: 'admin' });
      const created = await t.app.inject({
        method: 'POST',
        url: '/api/v1/tokens',
        headers: t.auth,
        payload: { name: 'edge', role: 'agent', scope: { targets: ['h-*'], channels: ['prod/*'] } },
      });
      const secret = created.json<{ secret: string }>().secret;
      const agent = await t.app.inject({
        method: 'GET',
        url: '/api/v1/session',
        headers: { authorization: `Bearer ${secret}` },
      });
      expect(agent.statusCode).toBe(403);
      expect(agent.json()).toMatchObject({ code: 'FORBIDDEN' });
    });

    it('pages targets by id with after, for the targets table of the console', async () => {
      for (const url of ['/environments/prod', '/environments/prod/channels/stable']) {
        await t.app.inject({ method: 'PUT', url: `/api/v1${url}`, headers: t.auth, payload: {} });
      }
      for (const id of ['t-1', 't-2', 't-3']) {
        await t.app.inject({
          method: 'PUT',
          url: `/api/v1/targets/${id}`,
          headers: t.auth,
          payload: { env: 'prod', channel: 'stable', labels: {} },
        });
      }
      const ids = async (query: string): Promise<string[]> =>
        (await t.app.inject({ method: 'GET', url: `/api/v1/targets?${query}`, headers: t.auth }))
          .json<{ items: { id: string }[] }>()
          .items.map((target) => target.id);
      expect(await ids('limit=2')).toEqual(['t-1', 't-2']);
      expect(await ids('limit=2&after=t-2')).toEqual(['t-3']);
      expect(await ids('after=t-3')).toEqual([]);
    });

    it('ends the change stream once its token is revoked', async () => {
      const created = await t.app.inject({
        method: 'POST',
        url: '/api/v1/tokens',
        headers: t.auth,
        payload: { name: 'ops', role: 'operator' },
      });
      const secret = created.json<{ secret: string }>().secret;
      const url = await t.app.listen({ host: '127.0.0.1', port: 0 });
      const text = await new Promise<string>((resolve, reject) => {
        const req = httpRequest(
          `${url}/api/v1/events`,
          { headers: { authorization: `Bearer ${secret}` } },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              body += chunk;
              if (body.includes('event: ready') && !body.includes('revoking')) {
                body += 'revoking';
                void t.app.inject({ method: 'DELETE', url: '/api/v1/tokens/ops', headers: t.auth });
              }
            });
            res.on('end', () => resolve(body));
          },
        );
        req.on('error', reject);
        req.end();
      });
      expect(text).toContain(': token revoked');
    });

    it('streams a change event for a decision recorded after the stream opened', async () => {
      const url = await t.app.listen({ host: '127.0.0.1', port: 0 });
      const received = await new Promise<string>((resolve, reject) => {
        const req = httpRequest(
          `${url}/api/v1/events`,
          { headers: { authorization: t.auth.authorization } },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              text += chunk;
              if (text.includes('event: ready') && !text.includes('put-sent')) {
                text += 'put-sent';
                void (async () => {
                  for (const url of ['/environments/prod', '/environments/prod/channels/stable']) {
                    await t.app.inject({
                      method: 'PUT',
                      url: `/api/v1${url}`,
                      headers: t.auth,
                      payload: {},
                    });
                  }
                })();
              }
              if (text.includes('event: change')) {
                req.destroy();
                resolve(text);
              }
            });
          },
        );
        req.on('error', reject);
        req.end();
      });
      const line = received.split('\n').find((l) => l.startsWith('data: {"seq"'));
      expect(JSON.parse(line?.slice('data: '.length) ?? '{}')).toMatchObject({
        env: 'prod',
      });
    });
  });
}
