import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { listFiles } from '../helpers/files.ts';
import { makePack, newSigner } from '../helpers/packs.ts';
import { createTestApp } from '../helpers/test-app.ts';
import type { TestApp } from '../helpers/test-app.ts';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';

const BODY_LIMIT = 2048;

interface BadRequest {
  title: string;
  method: 'POST' | 'GET';
  url: string;
  contentType?: string;
  body?: string | Buffer;
  status: number;
  code: string;
}

const gate = { name: 'unit', status: 'PASS' };
const json = (value: unknown): string => JSON.stringify(value);

const CASES: BadRequest[] = [
  {
    title: 'malformed JSON',
    method: 'POST',
    url: '/api/v1/builds',
    body: '{"id": "b1", "gates": [',
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    title: 'an empty JSON body',
    method: 'POST',
    url: '/api/v1/builds',
    body: '',
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    title: 'a prototype-poisoning JSON body',
    method: 'POST',
    url: '/api/v1/builds',
    body: '{"id": "b1", "gates": [], "__proto__": {"admin": true}}',
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    title: 'a JSON null body',
    method: 'POST',
    url: '/api/v1/builds',
    body: 'null',
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    title: 'a number where a string belongs (never coerced)',
    method: 'POST',
    url: '/api/v1/builds',
    body: json({ id: 123, gates: [gate] }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    title: 'a string where an array belongs',
    method: 'POST',
    url: '/api/v1/builds',
    body: json({ id: 'b1', gates: 'PASS' }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    title: 'a gate status outside PASS/FAIL/ERROR/SKIP',
    method: 'POST',
    url: '/api/v1/builds',
    body: json({ id: 'b1', gates: [{ name: 'unit', status: 'pass' }] }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    title: 'an unknown top-level field (a client-chosen status)',
    method: 'POST',
    url: '/api/v1/builds',
    body: json({ id: 'b1', gates: [gate], status: 'passed' }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    title: 'an unknown field inside a gate',
    method: 'POST',
    url: '/api/v1/builds',
    body: json({ id: 'b1', gates: [{ ...gate, score: 1 }] }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    title: 'a missing required field',
    method: 'POST',
    url: '/api/v1/builds',
    body: json({ id: 'b1' }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    title: 'an unknown field on a trusted key',
    method: 'POST',
    url: '/api/v1/trust/keys',
    body: json({ publicKeyPem: 'x', trusted: true }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    title: 'a JSON body over the limit',
    method: 'POST',
    url: '/api/v1/builds',
    body: json({ id: 'b1', gates: [{ ...gate, details: 'x'.repeat(BODY_LIMIT) }] }),
    status: 413,
    code: 'BODY_TOO_LARGE',
  },
  {
    title: 'text/plain to a JSON route',
    method: 'POST',
    url: '/api/v1/builds',
    contentType: 'text/plain',
    body: json({ id: 'b1', gates: [gate] }),
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    title: 'JSON to the pack upload',
    method: 'POST',
    url: '/api/v1/packs',
    body: json({ pack: 'base64...' }),
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    title: 'application/zip to the pack upload',
    method: 'POST',
    url: '/api/v1/packs',
    contentType: 'application/zip',
    body: Buffer.from('PK\u0003\u0004'),
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    title: 'an empty pack upload',
    method: 'POST',
    url: '/api/v1/packs',
    contentType: 'application/octet-stream',
    body: Buffer.alloc(0),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    title: 'a pack upload over the limit',
    method: 'POST',
    url: '/api/v1/packs',
    contentType: 'application/octet-stream',
    body: Buffer.alloc(BODY_LIMIT + 1, 7),
    status: 413,
    code: 'BODY_TOO_LARGE',
  },
  {
    title: 'a non-numeric list limit',
    method: 'GET',
    url: '/api/v1/packs?limit=lots',
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    title: 'an unknown query parameter',
    method: 'GET',
    url: '/api/v1/packs?sort=asc',
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    title: 'a NUL in a build id',
    method: 'POST',
    url: '/api/v1/builds',
    body: json({ id: 'b1\u0000', gates: [gate] }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    title: 'a NUL in gate details (free text)',
    method: 'POST',
    url: '/api/v1/builds',
    body: json({ id: 'b1', gates: [{ ...gate, details: 'ok\u0000hidden' }] }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    title: 'an unpaired surrogate in gate details',
    method: 'POST',
    url: '/api/v1/builds',
    body: json({ id: 'b1', gates: [{ ...gate, details: 'half \ud83d' }] }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    title: 'a terminal escape in gate details',
    method: 'POST',
    url: '/api/v1/builds',
    body: json({ id: 'b1', gates: [{ ...gate, details: '\u001b[2J' }] }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    title: 'a NUL in a query value',
    method: 'GET',
    url: '/api/v1/packs?name=kb%00',
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    title: 'a malformed percent-encoding in the path',
    method: 'GET',
    url: '/api/v1/packs/%E0%A4%A',
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    title: 'a method the path does not answer',
    method: 'POST',
    url: '/api/v1/builds/b1',
    body: json({ id: 'b1', gates: [gate] }),
    status: 405,
    code: 'METHOD_NOT_ALLOWED',
  },
  {
    title: 'a repeated query parameter',
    method: 'GET',
    url: '/api/v1/packs?limit=1&limit=2',
    status: 400,
    code: 'VALIDATION_FAILED',
  },
];

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'bad input', () => {
    let t: TestApp;

    beforeEach(async () => {
      t = await createTestApp(dialect, { bodyLimit: BODY_LIMIT });
    });

    afterEach(async () => {
      await t.close();
    });

    for (const bad of CASES) {
      it(`answers ${bad.title} with ${bad.status} ${bad.code} and stores nothing`, async () => {
        const response = await t.app.inject({
          method: bad.method,
          url: bad.url,
          headers: {
            ...t.auth,
            ...(bad.body === undefined
              ? {}
              : { 'content-type': bad.contentType ?? 'application/json' }),
          },
          ...(bad.body === undefined ? {} : { payload: bad.body }),
        });
        expect(response.statusCode).toBe(bad.status);
        const body = response.json<{ code: string; message: string }>();
        expect(body.code).toBe(bad.code);
        expect(body.message).not.toBe('');
        expect(await t.stores.builds.list({ limit: 10 })).toEqual([]);
        expect(await t.stores.trust.list()).toEqual([]);
        expect(await t.stores.packs.list({ limit: 10 })).toEqual([]);
        expect(await listFiles(join(t.config.dataDir, 'blobs'))).toEqual([]);
      });
    }

    it('names the unknown field in the validation details', async () => {
      const response = await t.app.inject({
        method: 'POST',
        url: '/api/v1/builds',
        headers: t.auth,
        payload: { id: 'b1', gates: [gate], status: 'passed' },
      });
      expect(response.json()).toMatchObject({
        code: 'VALIDATION_FAILED',
        details: {
          in: 'body',
          problems: [{ keyword: 'additionalProperties', property: 'status' }],
        },
      });
    });

    it('still accepts a real pack under the configured limit', async () => {
      const signer = newSigner();
      await t.services.trust.add({ publicKeyPem: signer.publicKeyPem }, 'test');
      const pack = await makePack({ signer });
      expect(pack.bytes.length).toBeLessThan(BODY_LIMIT);
      const response = await t.app.inject({
        method: 'POST',
        url: '/api/v1/packs',
        headers: { ...t.auth, 'content-type': 'application/gzip' },
        payload: pack.bytes,
      });
      expect(response.statusCode).toBe(201);
    });
  });
}
