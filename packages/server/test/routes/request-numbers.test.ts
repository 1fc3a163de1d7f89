import { INT32_MAX, Integer } from '@lockgate/api';
import { Type } from '@sinclair/typebox';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp, routesOf } from '../../src/app.ts';
import { unboundedNumbers, unboundedRequestNumbers } from '../../src/http/number-bounds.ts';
import { createTestApp } from '../helpers/test-app.ts';
import type { TestApp } from '../helpers/test-app.ts';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';

describe('number bounds of request schemas', () => {
  it('finds integers and numbers without both bounds, through unions, records and arrays', () => {
    const schema = Type.Object({
      bounded: Integer(),
      open: Type.Integer({ minimum: 0 }),
      nested: Type.Array(Type.Object({ ratio: Type.Number() })),
      either: Type.Union([Type.Integer({ maximum: 5 }), Type.Null()]),
      map: Type.Record(Type.String(), Type.Number({ minimum: 0, maximum: Number.MAX_VALUE })),
    });
    expect(unboundedNumbers(schema)).toEqual([
      '/properties/either/anyOf/0',
      '/properties/map/patternProperties/^(.*)$',
      '/properties/nested/items/properties/ratio',
      '/properties/open',
    ]);
  });

  it('follows $ref to shared schemas', () => {
    const shared = { $id: 'Shared', type: 'object', properties: { n: { type: 'integer' } } };
    const lookup = (id: string): unknown => (id === 'Shared' ? shared : undefined);
    expect(unboundedNumbers({ $ref: 'Shared#' }, lookup)).toEqual(['/$ref(Shared#)/properties/n']);
  });

  it('defaults an integer to 0..INT32_MAX, what an integer column holds on both databases', () => {
    expect(Integer()).toMatchObject({ type: 'integer', minimum: 0, maximum: 2 ** 31 - 1 });
    expect(INT32_MAX).toBe(2_147_483_647);
  });
});

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'numbers beyond what the database holds', () => {
    let t: TestApp;

    beforeEach(async () => {
      t = await createTestApp(dialect);
    });

    afterEach(async () => {
      await t.close();
    });

    const call = (method: 'PUT' | 'POST', url: string, payload: unknown) =>
      t.app.inject({ method, url: `/api/v1${url}`, headers: t.auth, payload: payload as object });

    it('bounds every number of every route', () => {
      const routes = routesOf(t.app);
      expect(routes.length).toBeGreaterThan(30);
      const lookup = (id: string): unknown => t.app.getSchema(id);
      const problems = routes.flatMap((route) =>
        unboundedRequestNumbers(route.schema, lookup).map(
          (p) => `${route.method} ${route.url} ${p}`,
        ),
      );
      expect(problems).toEqual([]);
    });

    it('refuses to add a route whose request has an unbounded integer', async () => {
      const app = buildApp({ config: t.config, services: t.services });
      try {
        expect(() =>
          app.post(
            '/extra',
            {
              config: { roles: ['admin'] },
              schema: { body: Type.Object({ n: Type.Integer({ minimum: 0 }) }) },
            },
            () => ({}),
          ),
        ).toThrow(/POST \/extra has numbers without bounds: body \/properties\/n/);
      } finally {
        await app.close();
      }
    });

    for (const floor of [2 ** 31, 1e308]) {
      it(`refuses a channel floor of ${floor} with 400 VALIDATION_FAILED and stores nothing`, async () => {
        expect((await call('PUT', '/environments/prod', {})).statusCode).toBe(201);
        expect((await call('PUT', '/environments/prod/channels/stable', {})).statusCode).toBe(201);
        const before = await t.stores.decisions.list({ limit: 1000 });
        const response = await call('PUT', '/environments/prod/channels/stable', {
          floor,
          reason: 'raise',
        });
        expect(response.statusCode).toBe(400);
        expect(response.json()).toMatchObject({
          code: 'VALIDATION_FAILED',
          details: {
            in: 'body',
            problems: expect.arrayContaining([
              expect.objectContaining({ path: '/floor', keyword: 'maximum' }),
            ]) as unknown,
          },
        });
        expect((await t.services.channels.get('prod', 'stable')).floor).toBeNull();
        expect(await t.stores.decisions.list({ limit: 1000 })).toEqual(before);
      });
    }

    it('stores the largest floor a 32-bit integer column holds', async () => {
      await call('PUT', '/environments/prod', {});
      await call('PUT', '/environments/prod/channels/stable', {});
      const response = await call('PUT', '/environments/prod/channels/stable', {
        floor: INT32_MAX,
        reason: 'the highest floor there is',
      });
      expect(response.statusCode).toBe(200);
      expect((await t.services.channels.get('prod', 'stable')).floor).toBe(INT32_MAX);
    });

    it('refuses huge durations, plan numbers and health counts with 400 before any handler', async () => {
      await call('PUT', '/environments/prod', {});
      await call('PUT', '/environments/prod/channels/stable', {});
      const digest = `sha256:${'a'.repeat(64)}`;
      const stage = { name: 'all', percent: 100, soakSeconds: 0, gates: [] };
      const refusals = [
        call('PUT', '/environments/prod/channels/stable/pins/_', {
          pack: digest,
          reason: 'hold',
          expiresIn: 1e308,
        }),
        call('PUT', '/plans/huge', { stages: [{ ...stage, soakSeconds: 1e308 }] }),
        call('PUT', '/plans/huge', { stages: [{ ...stage, percent: 1e308 }] }),
        call('POST', '/targets/t1/reports', {
          activePack: null,
          health: { requests: 1e308, errors: 0 },
        }),
        call('POST', '/targets/t1/reports', {
          activePack: null,
          health: { signals: { x: -1e308 } },
        }),
      ];
      for (const response of await Promise.all(refusals)) {
        expect(response.statusCode).toBe(400);
        expect(response.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
      }
      expect((await t.services.plans.list()).map((plan) => plan.name)).not.toContain('huge');
    });
  });
}
