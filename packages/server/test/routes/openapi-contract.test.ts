import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPENAPI_PATH } from '../../src/app.ts';
import { createTestApp } from '../helpers/test-app.ts';
import type { TestApp } from '../helpers/test-app.ts';
import { DIALECTS } from '../helpers/test-database.ts';

/**
 * The OpenAPI document clients generate code from. `openapi.expected.json` is the document as the
 * server generated it before the contract moved into `@lockgate/api` (the move changed nothing on
 * the wire but the `viewer` role), with the routes added on purpose since (console session and
 * events, webhooks, freezes, Prometheus and compare gates, gate reports, target paging, the
 * transparency log and release evidence, replays and the records' coreVersion, the rollback
 * preview, the session role as the token-role enum). A change
 * nobody meant fails here;
 * a change made on purpose is made by `LOCKGATE_WRITE_OPENAPI=1` (it rewrites the expected file
 * from the running code; format it with prettier and review its diff in the commit).
 */
const EXPECTED = new URL('../fixtures/openapi.expected.json', import.meta.url);

type Json = Record<string, unknown>;

describe('the OpenAPI document', () => {
  let t: TestApp;
  beforeAll(async () => {
    const sqlite = DIALECTS[0];
    if (sqlite === undefined) throw new Error('no SQLite dialect');
    t = await createTestApp(sqlite);
  });
  afterAll(async () => {
    await t.close();
  });

  it('is the document clients were built against, with only the intended changes', async () => {
    const response = await t.app.inject({ method: 'GET', url: OPENAPI_PATH });
    expect(response.statusCode).toBe(200);
    const actual = response.json<Json>();
    if (process.env['LOCKGATE_WRITE_OPENAPI'] === '1') {
      writeFileSync(EXPECTED, `${JSON.stringify(actual, null, 2)}\n`);
    }
    const expected = JSON.parse(readFileSync(EXPECTED, 'utf8')) as Json;
    expect(actual).toEqual(expected);
  });
});
