import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServerConfig } from '../../src/config.ts';
import { startServer } from '../../src/server.ts';
import type { RunningServer } from '../../src/server.ts';
import { createTestApp } from '../helpers/test-app.ts';
import type { TestApp } from '../helpers/test-app.ts';
import { DIALECTS } from '../helpers/test-database.ts';
import type { TestDatabase } from '../helpers/test-database.ts';

const BODY_LIMIT = 2048;

/** The documented error shape: a code, a sentence, and details when there are any. */
function expectErrorShape(body: unknown, code: string): void {
  expect(body).toMatchObject({ code, message: expect.stringMatching(/\S/) as unknown });
  expect(
    Object.keys(body as object).every((key) => ['code', 'message', 'details'].includes(key)),
  ).toBe(true);
}

interface RawAnswer {
  status: number;
  headers: string;
  body: string;
}

/** Writes bytes to the server as they are (no client library fixes them up), reads to the end. */
function rawRequest(url: string, request: string | Buffer): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer in 10 s')));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', body = ''] = text.split('\r\n\r\n', 2);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, headers: head, body });
    });
    socket.write(request);
  });
}

describe('error answers raised before a route runs (app.inject)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp(DIALECTS[0] as (typeof DIALECTS)[number], { bodyLimit: BODY_LIMIT });
  });

  afterAll(async () => {
    await t.close();
  });

  const cases: {
    title: string;
    method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'OPTIONS';
    url: string;
    auth?: boolean;
    contentType?: string;
    body?: string;
    status: number;
    code: string;
  }[] = [
    {
      title: 'malformed percent-encoding in the path, without a token',
      method: 'GET',
      url: '/api/v1/packs/%E0%A4%A',
      auth: false,
      status: 400,
      code: 'BAD_REQUEST',
    },
    {
      title: 'malformed percent-encoding in the path, with a token',
      method: 'GET',
      url: '/api/v1/environments/%E0%A4%A/channels/x',
      status: 400,
      code: 'BAD_REQUEST',
    },
    {
      title: 'malformed JSON',
      method: 'POST',
      url: '/api/v1/builds',
      body: '{"id": ',
      status: 400,
      code: 'BAD_REQUEST',
    },
    {
      title: 'a body over the limit',
      method: 'POST',
      url: '/api/v1/builds',
      body: JSON.stringify({ id: 'b', gates: [], pad: 'x'.repeat(BODY_LIMIT) }),
      status: 413,
      code: 'BODY_TOO_LARGE',
    },
    {
      title: 'an unsupported media type',
      method: 'POST',
      url: '/api/v1/builds',
      contentType: 'application/xml',
      body: '<build/>',
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    },
    {
      title: 'a route that does not exist',
      method: 'GET',
      url: '/api/v1/nothing-here',
      auth: false,
      status: 404,
      code: 'NOT_FOUND',
    },
    {
      title: 'a method the route does not answer',
      method: 'DELETE',
      url: '/api/v1/plans/canary',
      auth: false,
      status: 405,
      code: 'METHOD_NOT_ALLOWED',
    },
    {
      title: 'OPTIONS on a route',
      method: 'OPTIONS',
      url: '/api/v1/releases',
      status: 405,
      code: 'METHOD_NOT_ALLOWED',
    },
    {
      title: 'a request without a token',
      method: 'GET',
      url: '/api/v1/packs',
      auth: false,
      status: 401,
      code: 'UNAUTHORIZED',
    },
  ];

  for (const c of cases) {
    it(`answers ${c.title} with ${c.status} ${c.code} in the error shape`, async () => {
      const response = await t.app.inject({
        method: c.method,
        url: c.url,
        headers: {
          ...(c.auth === false ? {} : t.auth),
          ...(c.body === undefined ? {} : { 'content-type': c.contentType ?? 'application/json' }),
        },
        ...(c.body === undefined ? {} : { payload: c.body }),
      });
      expect(response.statusCode).toBe(c.status);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expectErrorShape(response.json(), c.code);
    });
  }

  it('lets a 255-character target id reach its route, and answers a longer parameter in the error shape', async () => {
    const longest = await t.app.inject({
      method: 'GET',
      url: `/api/v1/targets/${'t'.repeat(255)}`,
      headers: t.auth,
    });
    expect(longest.statusCode).toBe(404);
    expectErrorShape(longest.json(), 'TARGET_NOT_FOUND');
    const tooLong = await t.app.inject({
      method: 'GET',
      url: `/api/v1/targets/${'t'.repeat(2000)}`,
      headers: t.auth,
    });
    expect(tooLong.statusCode).toBe(400);
    expectErrorShape(tooLong.json(), 'BAD_REQUEST');
  });

  it('lists the methods a path answers in Allow with a 405', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/api/v1/plans/canary' });
    expect(response.statusCode).toBe(405);
    expect(response.headers['allow']).toBe('GET, HEAD, PUT');
    expect(response.json()).toMatchObject({ details: { allow: ['GET', 'HEAD', 'PUT'] } });
  });
});

describe('error answers on a real connection', () => {
  let testDatabase: TestDatabase;
  let server: RunningServer;
  const sqlite = DIALECTS[0] as (typeof DIALECTS)[number];

  beforeAll(async () => {
    testDatabase = await sqlite.create();
    const { config } = testDatabase;
    server = await startServer(
      loadServerConfig(
        { data: config.dataDir, port: 0, logLevel: 'silent' },
        { LOCKGATE_ADMIN_TOKEN: 'error-shape-admin-token-0123456789' },
      ),
    );
  });

  afterAll(async () => {
    await server.close();
    await testDatabase.dispose();
  });

  const get = (path: string, extra = ''): string =>
    `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n${extra}\r\n`;

  it('answers a raw malformed percent-encoding with 400 BAD_REQUEST in the error shape', async () => {
    const answer = await rawRequest(server.url, get('/api/v1/packs/%E0%A4%A'));
    expect(answer.status).toBe(400);
    expect(answer.headers).toMatch(/content-type: application\/json/i);
    expectErrorShape(JSON.parse(answer.body), 'BAD_REQUEST');
  });

  it('answers a raw NUL in the path with 400 VALIDATION_FAILED', async () => {
    const answer = await rawRequest(
      server.url,
      get(
        '/api/v1/environments/a%00b',
        'Authorization: Bearer error-shape-admin-token-0123456789\r\n',
      ),
    );
    expect(answer.status).toBe(400);
    expectErrorShape(JSON.parse(answer.body), 'VALIDATION_FAILED');
  });

  it('answers a request line the HTTP parser refuses with 400 BAD_REQUEST', async () => {
    const answer = await rawRequest(server.url, 'GET /a b c HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(answer.status).toBe(400);
    expectErrorShape(JSON.parse(answer.body), 'BAD_REQUEST');
  });

  it('answers a control character in a header with 400 BAD_REQUEST', async () => {
    const answer = await rawRequest(server.url, get('/healthz', 'X-Note: a\u0001b\r\n'));
    expect(answer.status).toBe(400);
    expectErrorShape(JSON.parse(answer.body), 'BAD_REQUEST');
  });

  it('answers an unknown method with 400 BAD_REQUEST', async () => {
    const answer = await rawRequest(server.url, 'BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(answer.status).toBe(400);
    expectErrorShape(JSON.parse(answer.body), 'BAD_REQUEST');
  });

  it('answers headers over the size limit with 431 HEADERS_TOO_LARGE', async () => {
    const answer = await rawRequest(
      server.url,
      get('/healthz', `X-Big: ${'a'.repeat(70_000)}\r\n`),
    );
    expect(answer.status).toBe(431);
    expectErrorShape(JSON.parse(answer.body), 'HEADERS_TOO_LARGE');
  });
});
