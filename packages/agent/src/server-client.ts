import type { Digest, TargetAttempt, TargetHealth } from '@lockgate/core';
import { AgentError } from './agent-codes.ts';

/** Options of the HTTP client for the agent's side of the Lockgate API (`/api/v1`). */
export interface ServerClientOptions {
  /** base URL of the server, e.g. http://127.0.0.1:7070 */
  server: string;
  token: string;
  fetch: typeof fetch;
  /** bound on one JSON request or index fetch */
  timeoutMs: number;
  /** bound on one pack download */
  downloadTimeoutMs: number;
  /** bound on the bytes of one channel index answer */
  maxIndexBytes: number;
}

export interface TargetRegistration {
  env: string;
  channel: string;
  labels: Record<string, string>;
  capabilities: Record<string, string>;
}

export interface ReportBody {
  activePack: Digest | null;
  lastAttempt?: TargetAttempt;
  health?: TargetHealth;
}

export type IndexResponse =
  { kind: 'not-modified' } | { kind: 'index'; envelope: unknown; etag: string | null };

/** How much of an error answer is read for its code and message. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/**
 * The agent's calls (DESIGN.md §7). Every failure, a network error or a non-2xx answer, is an
 * AgentError SERVER_UNREACHABLE with `details.status` and the server's `details.serverCode`.
 * No answer is read without a bound: an index answer over `maxIndexBytes` is INDEX_TOO_LARGE
 * (read no further than the bound, the connection dropped), an error answer is read up to
 * 64 KiB, and pack downloads are bounded by the cache. An answer with `Retry-After` (a 429 when
 * the server is behind on reports) carries the wait in `details.retryAfterMs`.
 */
export class ServerClient {
  readonly #base: URL;
  readonly #token: string;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #downloadTimeoutMs: number;
  readonly #maxIndexBytes: number;

  /** The client an agent uses, from its options. */
  static forAgent(options: {
    server: string;
    token: string;
    fetch: typeof fetch;
    requestTimeoutMs: number;
    downloadTimeoutMs: number;
    maxIndexBytes: number;
  }): ServerClient {
    return new ServerClient({
      server: options.server,
      token: options.token,
      fetch: options.fetch,
      timeoutMs: options.requestTimeoutMs,
      downloadTimeoutMs: options.downloadTimeoutMs,
      maxIndexBytes: options.maxIndexBytes,
    });
  }

  constructor(options: ServerClientOptions) {
    const server = options.server.endsWith('/') ? options.server : `${options.server}/`;
    this.#base = new URL('api/v1/', server);
    this.#token = options.token;
    this.#fetch = options.fetch;
    this.#timeoutMs = options.timeoutMs;
    this.#downloadTimeoutMs = options.downloadTimeoutMs;
    this.#maxIndexBytes = options.maxIndexBytes;
  }

  /** PUT /targets/{id}: register or update this target (idempotent). */
  async registerTarget(id: string, body: TargetRegistration, signal?: AbortSignal): Promise<void> {
    const response = await this.#request(`targets/${encodeURIComponent(id)}`, {
      method: 'PUT',
      json: body,
      signal,
    });
    await response.body?.cancel();
  }

  /** POST /targets/{id}/reports. */
  async postReport(id: string, body: ReportBody, signal?: AbortSignal): Promise<void> {
    const response = await this.#request(`targets/${encodeURIComponent(id)}/reports`, {
      method: 'POST',
      json: body,
      signal,
    });
    await response.body?.cancel();
  }

  /** GET /channels/{env}/{channel}/index with If-None-Match. */
  async fetchIndex(
    env: string,
    channel: string,
    etag: string | null,
    signal?: AbortSignal,
  ): Promise<IndexResponse> {
    const response = await this.#request(this.#channelPath(env, channel, 'index'), {
      headers: etag === null ? {} : { 'if-none-match': etag },
      signal,
      accept: [200, 304],
    });
    if (response.status === 304) {
      await response.body?.cancel();
      return { kind: 'not-modified' };
    }
    const maxBytes = this.#maxIndexBytes;
    const tooLarge = (bytes: number, declared: boolean): AgentError =>
      new AgentError(
        'INDEX_TOO_LARGE',
        `The channel index answer ${declared ? 'declares' : 'ran past'} ${bytes} bytes, over the bound of ${maxBytes}; it was not read.`,
        { details: { bytes, maxBytes, declared } },
      );
    const length = response.headers.get('content-length');
    if (length !== null && /^\d+$/.test(length) && Number(length) > maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw tooLarge(Number(length), true);
    }
    let envelope: unknown;
    try {
      const bytes = await readBounded(response, maxBytes);
      if (bytes === null) throw tooLarge(maxBytes + 1, false);
      envelope = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch (cause) {
      if (cause instanceof AgentError) throw cause;
      throw new AgentError('SERVER_UNREACHABLE', 'The channel index answer is not JSON.', {
        cause,
        details: { status: response.status },
      });
    }
    return { kind: 'index', envelope, etag: response.headers.get('etag') };
  }

  /** GET /channels/{env}/{channel}/events: the open SSE response (the caller reads and closes it). */
  async openEvents(env: string, channel: string, signal: AbortSignal): Promise<Response> {
    return this.#request(this.#channelPath(env, channel, 'events'), {
      headers: { accept: 'text/event-stream' },
      signal,
      timeoutMs: null,
    });
  }

  /**
   * GET /packs/{digest}, from `offset` on when it is above 0 (`Range` with `If-Range` on the
   * digest ETag). Answers 200, 206 or 416; the caller reads the body.
   */
  async downloadPack(digest: Digest, offset: number, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/octet-stream' };
    if (offset > 0) {
      headers.range = `bytes=${offset}-`;
      headers['if-range'] = `"${digest}"`;
    }
    return this.#request(`packs/${encodeURIComponent(digest)}`, {
      headers,
      signal,
      accept: [200, 206, 416],
      timeoutMs: this.#downloadTimeoutMs,
    });
  }

  #channelPath(env: string, channel: string, leaf: string): string {
    return `channels/${encodeURIComponent(env)}/${encodeURIComponent(channel)}/${leaf}`;
  }

  async #request(
    path: string,
    options: {
      method?: string;
      json?: unknown;
      headers?: Record<string, string>;
      signal?: AbortSignal | undefined;
      /** statuses taken as answers; default: any 2xx */
      accept?: number[];
      /** null = no bound (a stream the caller closes) */
      timeoutMs?: number | null;
    },
  ): Promise<Response> {
    const url = new URL(path, this.#base);
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...options.headers,
      authorization: `Bearer ${this.#token}`,
    };
    let body: string | undefined;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    const timeoutMs = options.timeoutMs === undefined ? this.#timeoutMs : options.timeoutMs;
    const signals: AbortSignal[] = [];
    if (timeoutMs !== null) signals.push(AbortSignal.timeout(timeoutMs));
    if (options.signal !== undefined) signals.push(options.signal);
    let response: Response;
    try {
      response = await this.#fetch(url, {
        method: options.method ?? 'GET',
        headers,
        body,
        signal: signals.length === 0 ? null : AbortSignal.any(signals),
      });
    } catch (cause) {
      throw new AgentError(
        'SERVER_UNREACHABLE',
        `${options.method ?? 'GET'} ${url.pathname} failed: ${networkReason(cause)}.`,
        { cause, details: { status: null, url: url.href } },
      );
    }
    const accepted =
      options.accept === undefined
        ? response.status >= 200 && response.status < 300
        : options.accept.includes(response.status);
    if (!accepted) {
      const bytes = await readBounded(response, MAX_ERROR_BODY_BYTES, true).catch(() => null);
      const problem = errorBodyOf(bytes === null ? '' : new TextDecoder().decode(bytes));
      const retryAfterMs = retryAfterMsOf(response.headers.get('retry-after'), Date.now());
      throw new AgentError(
        'SERVER_UNREACHABLE',
        `${options.method ?? 'GET'} ${url.pathname} answered ${response.status}${problem.code === null ? '' : ` ${problem.code}`}${problem.message === null ? '' : `: ${problem.message}`}.`,
        {
          details: {
            status: response.status,
            serverCode: problem.code,
            url: url.href,
            ...(retryAfterMs === null ? {} : { retryAfterMs }),
          },
        },
      );
    }
    return response;
  }
}

/** Longest wait a Retry-After header is honoured for (a larger value is capped, not ignored). */
export const MAX_RETRY_AFTER_MS = 10 * 60 * 1000;

/**
 * How long `Retry-After` asks to wait, in ms: delay-seconds or an HTTP-date (RFC 9110 §10.2.3),
 * at most MAX_RETRY_AFTER_MS; null when absent or malformed.
 */
export function retryAfterMsOf(header: string | null, nowMs: number): number | null {
  if (header === null) return null;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Math.min(Number(value) * 1000, MAX_RETRY_AFTER_MS);
  const date = Date.parse(value);
  if (!Number.isFinite(date)) return null;
  return Math.min(Math.max(0, date - nowMs), MAX_RETRY_AFTER_MS);
}

/**
 * The body's bytes when there are at most `maxBytes`; else null, after reading no more than
 * `maxBytes` and a chunk and cancelling the rest (the connection goes). With `truncate`, the
 * first `maxBytes` instead of null.
 */
export async function readBounded(
  response: Response,
  maxBytes: number,
  truncate = false,
): Promise<Uint8Array | null> {
  if (response.body === null) return new Uint8Array(0);
  const reader: ReadableStreamDefaultReader<Uint8Array> = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (total + value.byteLength > maxBytes) {
      await reader.cancel().catch(() => undefined);
      if (!truncate) return null;
      chunks.push(value.subarray(0, maxBytes - total));
      total = maxBytes;
      break;
    }
    chunks.push(value);
    total += value.byteLength;
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

function errorBodyOf(text: string): { code: string | null; message: string | null } {
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value === 'object' && value !== null) {
      const { code, message } = value as { code?: unknown; message?: unknown };
      return {
        code: typeof code === 'string' ? code : null,
        message: typeof message === 'string' ? message.replace(/\.$/, '') : null,
      };
    }
  } catch {
    // not JSON: no code to show
  }
  return { code: null, message: null };
}

/** The network cause of a failed fetch (ECONNREFUSED, timeout, ...). */
function networkReason(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth += 1) {
    const code = (current as Error & { code?: unknown }).code;
    if (typeof code === 'string') return code;
    if (current.name === 'TimeoutError' || current.name === 'AbortError') return current.name;
    current = current.cause;
  }
  return error instanceof Error ? error.message : String(error);
}
