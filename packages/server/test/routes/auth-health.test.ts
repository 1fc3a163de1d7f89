import { afterEach, beforeEach, expect, it } from 'vitest';
import { createTestApp } from '../helpers/test-app.ts';
import type { TestApp } from '../helpers/test-app.ts';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'auth, health and the OpenAPI document', () => {
    let t: TestApp;

    beforeEach(async () => {
      t = await createTestApp(dialect);
    });

    afterEach(async () => {
      await t.close();
    });

    it('refuses an API call without a token with 401 UNAUTHORIZED', async () => {
      const response = await t.app.inject({ method: 'GET', url: '/api/v1/packs' });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toMatchObject({ code: 'UNAUTHORIZED' });
      expect(response.headers['www-authenticate']).toBe('Bearer');
    });

    it('refuses an unknown token and a malformed Authorization header', async () => {
      for (const authorization of [
        'Bearer not-a-token',
        'Basic YWRtaW46YWRtaW4=',
        'Bearer',
        t.token,
      ]) {
        const response = await t.app.inject({
          method: 'GET',
          url: '/api/v1/trust/keys',
          headers: { authorization },
        });
        expect(response.statusCode).toBe(401);
        expect(response.json()).toMatchObject({ code: 'UNAUTHORIZED' });
      }
    });

    it('refuses before reading the body, so nothing is stored without a token', async () => {
      const response = await t.app.inject({
        method: 'POST',
        url: '/api/v1/builds',
        payload: { id: 'b', gates: [{ name: 'unit', status: 'PASS' }] },
      });
      expect(response.statusCode).toBe(401);
      expect(await t.stores.builds.find('b')).toBeNull();
    });

    it('accepts the admin token', async () => {
      const response = await t.app.inject({ method: 'GET', url: '/api/v1/packs', headers: t.auth });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ items: [] });
    });

    it('serves the OpenAPI document without a token', async () => {
      const response = await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
      expect(response.statusCode).toBe(200);
      const document = response.json<{ openapi: string; paths: Record<string, unknown> }>();
      expect(document.openapi).toMatch(/^3\./);
      expect(Object.keys(document.paths)).toEqual(
        expect.arrayContaining([
          '/api/v1/packs',
          '/api/v1/packs/{ref}/manifest',
          '/api/v1/packs/{digest}',
          '/api/v1/builds',
          '/api/v1/builds/{id}',
          '/api/v1/trust/keys',
          '/api/v1/trust/keys/{keyId}',
        ]),
      );
      expect(Object.keys(document.paths)).not.toContain('/api/v1/openapi.json');
    });

    it('answers /healthz and /readyz without a token', async () => {
      const health = await t.app.inject({ method: 'GET', url: '/healthz' });
      expect(health.statusCode).toBe(200);
      expect(health.json()).toEqual({ status: 'ok' });
      const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toEqual({ status: 'ready' });
    });

    it('answers /readyz with 503 when the database is gone', async () => {
      await t.testDatabase.database.close();
      const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toEqual({ status: 'unavailable' });
    });

    it('answers unknown routes with 404 NOT_FOUND', async () => {
      for (const url of ['/nothing', '/api/v1/nothing']) {
        const response = await t.app.inject({ method: 'GET', url, headers: t.auth });
        expect(response.statusCode).toBe(404);
        expect(response.json()).toMatchObject({ code: 'NOT_FOUND' });
      }
    });
  });
}
