import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { routesOf } from '../../src/app.ts';
import { unstorableTextOf } from '../../src/db/storable-text.ts';
import { verifyDecisionChain } from '../../src/features/decisions/decision-log.ts';
import { findTextProblem, textProblemOf } from '../../src/http/request-text.ts';
import { listFiles } from '../helpers/files.ts';
import { createTestApp } from '../helpers/test-app.ts';
import type { TestApp } from '../helpers/test-app.ts';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';

const NUL_TEXT = 'a\u0000b';

/** Where a string can go in a JSON body: a path of keys and indexes, and whether it is a key. */
interface Slot {
  path: (string | number)[];
  key: boolean;
}

/** Every place the schema lets a string sit (values and record keys), one slot per place. */
function stringSlots(schema: unknown, lookup: (id: string) => unknown): Slot[] {
  const slots = new Map<string, Slot>();
  const visit = (node: unknown, path: (string | number)[], depth: number): void => {
    if (typeof node !== 'object' || node === null || depth > 12) return;
    const s = node as Record<string, unknown>;
    if (typeof s['$ref'] === 'string') visit(lookup(s['$ref'].replace(/#$/, '')), path, depth + 1);
    for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
      const list = s[key];
      if (Array.isArray(list)) for (const item of list) visit(item, path, depth + 1);
    }
    if (s['type'] === 'string' || typeof s['const'] === 'string' || Array.isArray(s['enum'])) {
      slots.set(JSON.stringify([path, false]), { path, key: false });
    }
    const properties = s['properties'];
    if (typeof properties === 'object' && properties !== null) {
      for (const [name, child] of Object.entries(properties))
        visit(child, [...path, name], depth + 1);
    }
    const patterned = (s['patternProperties'] ?? {}) as Record<string, unknown>;
    const records: unknown[] = [s['additionalProperties'], ...Object.values(patterned)];
    for (const values of records) {
      if (typeof values !== 'object' || values === null) continue;
      slots.set(JSON.stringify([path, true]), { path, key: true });
      visit(values, [...path, 'k'], depth + 1);
    }
    if (typeof s['items'] === 'object' && s['items'] !== null)
      visit(s['items'], [...path, 0], depth + 1);
  };
  visit(schema, [], 0);
  return [...slots.values()];
}

/** A JSON value holding NUL_TEXT at the slot (as a key when the slot is a record's). */
function bodyWith(slot: Slot): unknown {
  const leaf: unknown = slot.key ? { [`k${NUL_TEXT}`]: 'v' } : NUL_TEXT;
  let value = leaf;
  for (let i = slot.path.length - 1; i >= 0; i--) {
    const step = slot.path[i] as string | number;
    value = typeof step === 'number' ? [value] : { [step]: value };
  }
  return value;
}

interface Attempt {
  what: string;
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
}

/** Requests that each put NUL in one string of one route: params, query, headers, body. */
function attemptsFor(t: TestApp): Attempt[] {
  const attempts: Attempt[] = [];
  for (const route of routesOf(t.app)) {
    const { method, url, schema } = route;
    const params = [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((match) => match[1] as string);
    const urlWith = (bad: string | null): string =>
      url.replace(/:([A-Za-z0-9_]+)/g, (_all, name: string) => (name === bad ? 'a%00b' : 'x'));
    const plain = urlWith(null);
    const label = `${method} ${url}`;
    for (const name of params) {
      attempts.push({ what: `${label} param ${name}`, method, url: urlWith(name) });
    }
    attempts.push({ what: `${label} query value`, method, url: `${plain}?q=${'a%00b'}` });
    attempts.push({ what: `${label} query key`, method, url: `${plain}?a%00b=1` });
    const query = schema?.['querystring'] as { properties?: Record<string, unknown> } | undefined;
    for (const name of Object.keys(query?.properties ?? {})) {
      attempts.push({ what: `${label} query ${name}`, method, url: `${plain}?${name}=a%00b` });
    }
    attempts.push({
      what: `${label} Idempotency-Key header`,
      method,
      url: plain,
      headers: { 'idempotency-key': `key${NUL_TEXT}` },
    });
    if (method === 'GET' || method === 'HEAD') continue;
    for (const slot of stringSlots(schema?.['body'], (id) => t.app.getSchema(id))) {
      if (slot.path.length === 0) continue; // a raw upload (pack file): bytes, not text
      attempts.push({
        what: `${label} body ${slot.key ? 'key at ' : ''}/${slot.path.join('/')}`,
        method,
        url: plain,
        body: bodyWith(slot),
      });
    }
  }
  return attempts;
}

describe('the request text rule', () => {
  it('refuses NUL and unpaired surrogates everywhere', () => {
    for (const place of ['name', 'text', 'header'] as const) {
      expect(textProblemOf('a\u0000b', place)).toMatch(/NUL/);
      expect(textProblemOf('a\ud800b', place)).toMatch(/surrogate/);
      expect(textProblemOf('b\udc00', place)).toMatch(/surrogate/);
      expect(textProblemOf('plain text, ünïcode and 😀', place)).toBeNull();
    }
  });

  it('lets free text span lines, and nothing else hold a control character', () => {
    expect(textProblemOf('line one\nline two\r\n\tindented', 'text')).toBeNull();
    expect(textProblemOf('colour \u001b[31m', 'text')).toMatch(/U\+001B/);
    expect(textProblemOf('csi \u009b', 'text')).toMatch(/U\+009B/);
    expect(textProblemOf('del \u007f', 'text')).toMatch(/U\+007F/);
    expect(textProblemOf('a\nb', 'name')).toMatch(/U\+000A/);
    expect(textProblemOf('a\tb', 'name')).toMatch(/U\+0009/);
    expect(textProblemOf('a\tb', 'header')).toBeNull();
    expect(textProblemOf('a\rb', 'header')).toMatch(/U\+000D/);
  });

  it('names the JSON pointer of the first refused string, keys included', () => {
    expect(findTextProblem({ a: [{ b: 'ok' }, { 'c/d': 'x\u0000' }] }, 'body', 'text')).toEqual({
      in: 'body',
      path: '/a/1/c~1d',
      message: 'holds a NUL character (U+0000)',
    });
    expect(findTextProblem({ labels: { 'k\u0001': 'v' } }, 'body', 'text')).toMatchObject({
      path: '/labels',
      message: 'has a key that holds a control character (U+0001)',
    });
  });

  it('walks any nesting depth without exhausting the stack', () => {
    let deep: unknown = 'a\u0000';
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(findTextProblem(deep, 'body', 'text')?.message).toMatch(/NUL/);
  });

  it('leaves to the database layer exactly what it cannot store', () => {
    expect(unstorableTextOf('a\u0000')).not.toBeNull();
    expect(unstorableTextOf('\ud83d')).not.toBeNull();
    expect(unstorableTextOf('\u001b and \n')).toBeNull();
    expect(unstorableTextOf('😀')).toBeNull();
  });
});

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'NUL and control characters in requests', () => {
    let t: TestApp;

    beforeEach(async () => {
      t = await createTestApp(dialect);
    });

    afterEach(async () => {
      await t.close();
    });

    it('refuses NUL in every string of every route with 400 VALIDATION_FAILED and stores nothing', async () => {
      const attempts = attemptsFor(t);
      const routes = routesOf(t.app);
      // Every route is covered, and the collection is not trivially small.
      expect(routes.length).toBeGreaterThan(30);
      for (const route of routes) {
        expect(attempts.some((a) => a.what.startsWith(`${route.method} ${route.url} `))).toBe(true);
      }
      expect(attempts.filter((a) => a.what.includes(' body ')).length).toBeGreaterThan(40);
      const before = await t.stores.decisions.list({ limit: 1000 });

      const failures: string[] = [];
      for (const attempt of attempts) {
        const response = await t.app.inject({
          method: attempt.method as 'GET',
          url: attempt.url,
          headers: {
            ...t.auth,
            ...attempt.headers,
            ...(attempt.body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(attempt.body === undefined ? {} : { payload: JSON.stringify(attempt.body) }),
        });
        if (response.statusCode !== 400) {
          failures.push(`${attempt.what}: ${response.statusCode} ${response.body}`);
          continue;
        }
        if (attempt.method === 'HEAD') continue;
        const body = response.json<Record<string, unknown>>();
        const shaped =
          body['code'] === 'VALIDATION_FAILED' &&
          typeof body['message'] === 'string' &&
          body['message'] !== '' &&
          Object.keys(body).every((key) => ['code', 'message', 'details'].includes(key));
        const problems = (body['details'] as { problems?: { keyword?: string }[] } | undefined)
          ?.problems;
        if (!shaped || problems?.[0]?.keyword !== 'text') {
          failures.push(`${attempt.what}: ${response.body}`);
        }
      }
      expect(failures).toEqual([]);

      expect(await t.stores.decisions.list({ limit: 1000 })).toEqual(before);
      expect(await t.stores.builds.list({ limit: 10 })).toEqual([]);
      expect(await t.stores.packs.list({ limit: 10 })).toEqual([]);
      expect(await listFiles(join(t.config.dataDir, 'blobs'))).toEqual([]);
    });

    it('keeps the decision chain verifiable after a reason with NUL is refused', async () => {
      const call = (method: 'PUT' | 'POST', url: string, payload: unknown) =>
        t.app.inject({ method, url: `/api/v1${url}`, headers: t.auth, payload: payload as object });
      expect((await call('PUT', '/environments/prod', {})).statusCode).toBe(201);
      expect((await call('PUT', '/environments/prod/channels/stable', {})).statusCode).toBe(201);

      const refused = await call('PUT', '/environments/prod/channels/stable', {
        floor: 3,
        reason: `raise the floor${'\u0000'} (hidden)`,
      });
      expect(refused.statusCode).toBe(400);
      expect(refused.json()).toMatchObject({
        code: 'VALIDATION_FAILED',
        details: { in: 'body', problems: [{ path: '/reason', keyword: 'text' }] },
      });
      const lone = await call('PUT', '/environments/prod/channels/stable', {
        floor: 3,
        reason: 'half an emoji \ud83d',
      });
      expect(lone.statusCode).toBe(400);

      // Free text may span lines; it is stored and covered by the digest as sent.
      const reason = 'raise the floor\n\tafter the incident';
      const accepted = await call('PUT', '/environments/prod/channels/stable', {
        floor: 3,
        reason,
      });
      expect(accepted.statusCode).toBe(200);

      const log = await t.stores.decisions.list({ limit: 1000 });
      expect(verifyDecisionChain(log)).toMatchObject({ ok: true, checked: log.length });
      expect(log.map((record) => record.reason)).toContain(reason);
      expect(log.some((record) => record.reason?.includes('hidden') === true)).toBe(false);
    });

    it('refuses NUL in the database layer too, for a caller that skips HTTP', async () => {
      await t.services.environments.put('prod', {}, 'test');
      await t.services.channels.put('prod', 'stable', {}, 'test');
      const before = await t.stores.decisions.list({ limit: 1000 });
      await expect(
        t.services.channels.put('prod', 'stable', { floor: 2, reason: 'cut\u0000here' }, 'test'),
      ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      const after = await t.stores.decisions.list({ limit: 1000 });
      expect(after).toEqual(before);
      expect(verifyDecisionChain(after).ok).toBe(true);
      expect((await t.services.channels.get('prod', 'stable')).floor).toBeNull();
    });
  });
}
