import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LockgateError } from '@lockgate/core';
import { ApiClient } from '../src/api-client.ts';
import { CliError, ServerError } from '../src/cli-error.ts';
import { jsonOf, makeTempDir, runCli } from './cli-harness.ts';

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

/** A loopback stand-in for the server that answers each path with a fixed status and body. */
function startFakeServer(
  routes: Record<string, { status: number; body: string }>,
  seen: Seen[],
): Promise<Server> {
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      seen.push({
        method: request.method ?? '',
        url: request.url ?? '',
        authorization: request.headers.authorization,
        contentType: request.headers['content-type'],
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const path = (request.url ?? '').split('?')[0] ?? '';
      const route = routes[`${request.method} ${path}`] ?? {
        status: 404,
        body: '{"code":"NOT_FOUND","message":"No such route."}',
      };
      response.writeHead(route.status, { 'content-type': 'application/json' });
      response.end(route.body);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

const PACK = {
  digest: `sha256:${'b'.repeat(64)}`,
  name: 'kb',
  version: '1.0.0',
  sequence: 1,
  size: 10,
  buildId: 'b-1',
  createdAt: '2026-11-23T10:00:00.000Z',
  pushedAt: '2026-11-23T10:01:00.000Z',
};

describe('api client', () => {
  const seen: Seen[] = [];
  let server: Server;
  let url: string;
  let temp: { dir: string; remove: () => Promise<void> };

  beforeAll(async () => {
    server = await startFakeServer(
      {
        'GET /api/v1/packs': { status: 200, body: JSON.stringify({ items: [PACK] }) },
        'GET /api/v1/revocations': { status: 200, body: JSON.stringify({ items: [] }) },
        'GET /api/v1/trust/keys': {
          status: 401,
          body: '{"code":"UNAUTHORIZED","message":"A valid bearer token is required."}',
        },
        'GET /api/v1/builds': {
          status: 418,
          body: '{"code":"TEAPOT_REFUSED","message":"Not today.","details":{"why":"tea"}}',
        },
        'POST /api/v1/builds': { status: 502, body: '<html>bad gateway</html>' },
      },
      seen,
    );
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    temp = await makeTempDir('api');
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await temp.remove();
  });

  it('sends the bearer token and the query, and returns the parsed body', async () => {
    const client = new ApiClient({ server: url, token: 's3cret', fetch: globalThis.fetch });
    const response = await client.request('GET', '/api/v1/packs', {
      query: { name: 'kb', limit: 5, other: undefined },
    });
    expect(response).toEqual({ status: 200, body: { items: [PACK] } });
    const last = seen.at(-1);
    expect(last?.authorization).toBe('Bearer s3cret');
    expect(last?.url).toBe('/api/v1/packs?name=kb&limit=5');
  });

  it('turns an error body with a known code into a LockgateError', async () => {
    const client = new ApiClient({ server: url, token: 'wrong', fetch: globalThis.fetch });
    const error: unknown = await client
      .request('GET', '/api/v1/trust/keys')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockgateError);
    expect(error).toMatchObject({
      code: 'UNAUTHORIZED',
      message: 'A valid bearer token is required.',
    });
  });

  it('keeps a code this CLI does not know, with its details', async () => {
    const client = new ApiClient({ server: url, token: 't', fetch: globalThis.fetch });
    const error: unknown = await client.request('GET', '/api/v1/builds').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerError);
    expect(error).toMatchObject({ code: 'TEAPOT_REFUSED', status: 418, details: { why: 'tea' } });
  });

  it('reports an answer that is not JSON as SERVER_RESPONSE_INVALID', async () => {
    const client = new ApiClient({ server: url, token: 't', fetch: globalThis.fetch });
    const error: unknown = await client
      .request('POST', '/api/v1/builds', { json: { id: 'x', gates: [] } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect(error).toMatchObject({ code: 'SERVER_RESPONSE_INVALID' });
    expect(seen.at(-1)).toMatchObject({
      contentType: 'application/json',
      body: '{"id":"x","gates":[]}',
    });
  });

  it('reports a refused connection as SERVER_UNREACHABLE naming the server', async () => {
    const closed = await closedPortUrl();
    const client = new ApiClient({ server: closed, token: 't', fetch: globalThis.fetch });
    const error: unknown = await client.request('GET', '/api/v1/packs').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect(error).toMatchObject({ code: 'SERVER_UNREACHABLE' });
    expect((error as Error).message).toContain(closed);
    expect((error as Error).message).toContain('ECONNREFUSED');
  });

  it('lists packs through the command with LOCKGATE_SERVER and LOCKGATE_TOKEN', async () => {
    const result = await runCli(['pack', 'list', '--name', 'kb', '--json'], {
      cwd: temp.dir,
      env: { LOCKGATE_SERVER: url, LOCKGATE_TOKEN: 'from-env' },
    });
    expect(result.code).toBe(0);
    expect(jsonOf(result)).toEqual({ items: [PACK] });
    expect(seen.at(-1)).toMatchObject({
      url: '/api/v1/packs?name=kb',
      authorization: 'Bearer from-env',
    });
  });

  it('prefers --server and --token over the environment', async () => {
    const result = await runCli(['pack', 'list', '--server', url, '--token', 'from-flag'], {
      cwd: temp.dir,
      env: { LOCKGATE_SERVER: 'http://127.0.0.1:1', LOCKGATE_TOKEN: 'from-env' },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`kb@1.0.0  sequence 1  ${PACK.digest}`);
    expect(seen.at(-1)?.authorization).toBe('Bearer from-flag');
  });

  it('exits 1 with the server code and sentence when the server refuses', async () => {
    const result = await runCli(['trust', 'list', '--server', url, '--token', 'wrong'], {
      cwd: temp.dir,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('UNAUTHORIZED: A valid bearer token is required.\n');
  });

  it('exits 1 with SERVER_UNREACHABLE when nothing listens', async () => {
    const closed = await closedPortUrl();
    const result = await runCli(['pack', 'list', '--server', closed, '--token', 't'], {
      cwd: temp.dir,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^SERVER_UNREACHABLE: Cannot reach the server at http:\/\/127/);
  });
});
