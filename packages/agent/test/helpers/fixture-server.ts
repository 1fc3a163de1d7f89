import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DsseEnvelope } from '@lockgate/core';
import type { TestPack } from './packs.ts';

export const TOKEN = 'test-token';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

/**
 * A stand-in for the Lockgate server on loopback: the agent's routes at their real paths
 * (`/api/v1/targets/{id}`, `/reports`, `/channels/{env}/{channel}/index` and `/events`,
 * `/packs/{digest}` with Range), plus `/healthz` and `/metrics` of a pretend runtime.
 */
export class FixtureServer {
  readonly url: string;
  readonly requests: RecordedRequest[] = [];
  /** the DSSE envelope served as the channel index */
  index: DsseEnvelope | null = null;
  /** pack file bytes by digest; a test may put any bytes under a digest */
  readonly packs = new Map<string, Uint8Array>();
  /** status of GET /healthz */
  healthStatus = 200;
  /** body of GET /metrics */
  metrics = '';
  /** called when a pack download starts, before the bytes go out */
  onPackRequest: ((digest: string) => void) | null = null;
  /** when set, the next pack download sends this many bytes and then drops the connection */
  cutNextDownloadAfter: number | null = null;
  /** when set, answers the next index request in its place (once) */
  nextIndexAnswer: ((response: ServerResponse) => void) | null = null;
  /** when set, answers the next report in its place (once) */
  nextReportAnswer: ((response: ServerResponse) => void) | null = null;
  /** when set, answers the next event-stream request in its place (once) */
  nextEventsAnswer: ((response: ServerResponse) => void) | null = null;
  readonly #server: Server;
  readonly #streams = new Set<ServerResponse>();

  private constructor(server: Server, url: string) {
    this.#server = server;
    this.url = url;
  }

  static async start(): Promise<FixtureServer> {
    let fixture: FixtureServer | null = null;
    const server = createServer((request, response) => {
      fixture?.handle(request, response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    fixture = new FixtureServer(server, `http://127.0.0.1:${port}`);
    return fixture;
  }

  /** Serves a new index and announces it on the event stream. */
  publish(index: DsseEnvelope): void {
    this.index = index;
    const version = indexVersionOf(index);
    for (const stream of this.#streams)
      stream.write(`event: index\ndata: {"version":${version}}\n\n`);
  }

  servePack(pack: TestPack, bytes: Uint8Array = pack.bytes): void {
    this.packs.set(pack.digest, bytes);
  }

  requestsTo(method: string, pattern: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && pattern.test(r.path));
  }

  reports(): Record<string, unknown>[] {
    return this.requestsTo('POST', /\/reports$/).map((r) => r.body as Record<string, unknown>);
  }

  /** Ends every open event stream, as a server restart or a proxy timeout would. */
  dropEventStreams(): void {
    for (const stream of this.#streams) stream.destroy();
    this.#streams.clear();
  }

  get eventStreams(): number {
    return this.#streams.size;
  }

  async close(): Promise<void> {
    for (const stream of this.#streams) stream.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = decodeURIComponent(new URL(request.url ?? '/', this.url).pathname);
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = null;
      if (text !== '') {
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
      }
      const method = request.method ?? 'GET';
      this.requests.push({ method, path, headers: request.headers, body });
      this.route(method, path, request, response, body);
    });
  }

  private route(
    method: string,
    path: string,
    request: IncomingMessage,
    response: ServerResponse,
    body: unknown,
  ): void {
    if (path === '/healthz') return void response.writeHead(this.healthStatus).end();
    if (path === '/metrics') {
      return void response.writeHead(200, { 'content-type': 'text/plain' }).end(this.metrics);
    }
    if (request.headers.authorization !== `Bearer ${TOKEN}`) {
      return json(response, 401, {
        code: 'UNAUTHORIZED',
        message: 'A valid bearer token is required.',
      });
    }
    let match: RegExpExecArray | null;
    if (method === 'PUT' && /^\/api\/v1\/targets\/[^/]+$/.test(path)) {
      return json(response, 200, { target: body });
    }
    if (method === 'POST' && /^\/api\/v1\/targets\/[^/]+\/reports$/.test(path)) {
      const answer = this.nextReportAnswer;
      if (answer !== null) {
        this.nextReportAnswer = null;
        return answer(response);
      }
      return json(response, 202, { accepted: true });
    }
    if (method === 'GET' && /^\/api\/v1\/channels\/[^/]+\/[^/]+\/index$/.test(path)) {
      const answer = this.nextIndexAnswer;
      if (answer !== null) {
        this.nextIndexAnswer = null;
        return answer(response);
      }
      if (this.index === null)
        return json(response, 404, { code: 'CHANNEL_NOT_FOUND', message: 'none' });
      const etag = `"${indexVersionOf(this.index)}"`;
      if (request.headers['if-none-match'] === etag) {
        return void response.writeHead(304, { etag }).end();
      }
      response.setHeader('etag', etag);
      return json(response, 200, this.index);
    }
    if (method === 'GET' && /^\/api\/v1\/channels\/[^/]+\/[^/]+\/events$/.test(path)) {
      const answer = this.nextEventsAnswer;
      if (answer !== null) {
        this.nextEventsAnswer = null;
        return answer(response);
      }
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      response.write(': connected\n\n');
      this.#streams.add(response);
      response.on('close', () => this.#streams.delete(response));
      return;
    }
    if (method === 'GET' && (match = /^\/api\/v1\/packs\/([^/]+)$/.exec(path)) !== null) {
      const digest = match[1] ?? '';
      this.onPackRequest?.(digest);
      const bytes = this.packs.get(digest);
      if (bytes === undefined)
        return json(response, 404, { code: 'PACK_NOT_FOUND', message: 'none' });
      return this.sendPack(request, response, digest, bytes);
    }
    return json(response, 404, { code: 'NOT_FOUND', message: `no route ${method} ${path}` });
  }

  private sendPack(
    request: IncomingMessage,
    response: ServerResponse,
    digest: string,
    bytes: Uint8Array,
  ): void {
    const etag = `"${digest}"`;
    const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
    const ifRange = request.headers['if-range'];
    let start = 0;
    if (range !== null && (ifRange === undefined || ifRange === etag)) {
      start = Number(range[1]);
      if (start >= bytes.length) {
        return void response.writeHead(416, { 'content-range': `bytes */${bytes.length}` }).end();
      }
    }
    const headers: Record<string, string | number> = {
      etag,
      'accept-ranges': 'bytes',
      'content-type': 'application/octet-stream',
      'content-length': bytes.length - start,
    };
    if (start > 0) headers['content-range'] = `bytes ${start}-${bytes.length - 1}/${bytes.length}`;
    response.writeHead(start > 0 ? 206 : 200, headers);
    const cut = this.cutNextDownloadAfter;
    if (cut !== null) {
      this.cutNextDownloadAfter = null;
      response.write(bytes.subarray(start, start + cut), () => {
        setTimeout(() => response.destroy(), 20);
      });
      return;
    }
    response.end(bytes.subarray(start));
  }
}

/**
 * Writes `prefix` and then `fill` over and over, as fast as the reader takes it, until the
 * connection closes or `boundBytes` went out (then it ends the answer). Resolves with the
 * bytes written and whether the reader closed first.
 */
export function streamEndlessly(
  response: ServerResponse,
  prefix: string,
  fill: string,
  boundBytes: number,
): Promise<{ written: number; closedByReader: boolean }> {
  return new Promise((resolve) => {
    const block = Buffer.from(fill.repeat(Math.max(1, Math.floor(16_384 / fill.length))));
    let written = 0;
    let closed = false;
    let ended = false;
    response.on('close', () => {
      closed = true;
      resolve({ written, closedByReader: !ended });
    });
    const pump = (): void => {
      while (!closed) {
        if (written >= boundBytes) {
          ended = true;
          response.end();
          return;
        }
        written += block.length;
        if (!response.write(block)) {
          response.once('drain', pump);
          return;
        }
      }
    };
    written += Buffer.byteLength(prefix);
    response.write(prefix);
    pump();
  });
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export function indexVersionOf(envelope: DsseEnvelope): number {
  const payload = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as {
    version: number;
  };
  return payload.version;
}
