import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPENAPI_PATH } from '../../src/app.ts';
import { createTestApp } from '../helpers/test-app.ts';
import type { TestApp } from '../helpers/test-app.ts';
import { DIALECTS } from '../helpers/test-database.ts';

/**
 * The OpenAPI document clients generate code from. `openapi.expected.json` is the document as
 * the server generated it before the contract moved into `@lockgate/api`; every change to the
 * wire since is written out below as an edit of that file, so a change nobody meant fails here.
 * `LOCKGATE_WRITE_OPENAPI=1` rewrites the expected file from the running code (then format it with prettier and review
 * the diff).
 */
const EXPECTED = new URL('../fixtures/openapi.expected.json', import.meta.url);

type Json = Record<string, unknown>;

/** The changes made on purpose since the expected file was generated. */
function withIntendedChanges(document: Json): Json {
  return addViewerRole(structuredClone(document)) as Json;
}

/** The read-only `viewer` token role joined admin, operator and agent (issue 10). */
function addViewerRole(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(addViewerRole);
  if (typeof node !== 'object' || node === null) return node;
  const record = node as Json;
  if (JSON.stringify(record['enum']) === JSON.stringify(['admin', 'operator', 'agent'])) {
    return {
      ...record,
      enum: ['admin', 'operator', 'agent', 'viewer'],
      description: `${String(record['description'])}; viewer: read only (every GET an operator may make)`,
    };
  }
  return Object.fromEntries(
    Object.entries(record).map(([key, value]) => [key, addViewerRole(value)]),
  );
}

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
    expect(actual).toEqual(withIntendedChanges(expected));
  });
});
