import { isApiErrorCode } from '@lockgate/api';
import { LockgateError } from '@lockgate/core';
import type { ErrorCode } from '@lockgate/core';
import { CliError, ServerError } from './cli-error.ts';

export interface ApiClientOptions {
  /** Base URL, e.g. http://127.0.0.1:7070 */
  server: string;
  token: string;
  fetch: typeof fetch;
  /** Bound on one request, connect to last byte (default 120 s). */
  timeoutMs?: number;
}

export interface ApiResponse {
  status: number;
  body: unknown;
}

export interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  json?: unknown;
  bytes?: Uint8Array;
  /** extra request headers, e.g. Idempotency-Key */
  headers?: Record<string, string>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isErrorCode(code: string): code is ErrorCode {
  return isApiErrorCode(code);
}

/** The network cause of a failed fetch, e.g. ECONNREFUSED, for the error sentence. */
function networkReason(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth += 1) {
    const code = (current as Error & { code?: unknown }).code;
    if (typeof code === 'string') {
      return code;
    }
    current = current.cause;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * A small client for the Lockgate HTTP API: bearer token on every call, JSON in and out,
 * error bodies `{code, message, details}` turned back into LockgateError (or ServerError
 * for a code this CLI does not know).
 */
export class ApiClient {
  readonly #base: URL;
  readonly #token: string;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  constructor(options: ApiClientOptions) {
    this.#base = new URL(options.server.endsWith('/') ? options.server : `${options.server}/`);
    this.#token = options.token;
    this.#fetch = options.fetch;
    this.#timeoutMs = options.timeoutMs ?? 120_000;
  }

  get server(): string {
    return this.#base.href.replace(/\/$/, '');
  }

  async request(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
    const url = new URL(path.replace(/^\//, ''), this.#base);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) {
        url.searchParams.set(key, String(value));
      }
    }
    const headers: Record<string, string> = {
      ...options.headers,
      authorization: `Bearer ${this.#token}`,
      accept: 'application/json',
    };
    let body: string | Uint8Array | undefined;
    if (options.bytes !== undefined) {
      headers['content-type'] = 'application/octet-stream';
      body = options.bytes;
    } else if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    }

    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(url, {
        method,
        headers,
        body,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      const timedOut = error instanceof Error && error.name === 'TimeoutError';
      throw new CliError(
        'SERVER_UNREACHABLE',
        timedOut
          ? `The server at ${this.server} did not answer within ${this.#timeoutMs / 1000} s`
          : `Cannot reach the server at ${this.server} (${networkReason(error)})`,
        { details: { server: this.server }, cause: error },
      );
    }

    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : (JSON.parse(text) as unknown);
    } catch {
      parsed = undefined;
    }

    if (!response.ok) {
      if (isRecord(parsed) && typeof parsed['code'] === 'string') {
        const code = parsed['code'];
        const message =
          typeof parsed['message'] === 'string'
            ? parsed['message']
            : `The server refused (${code})`;
        const details = isRecord(parsed['details']) ? parsed['details'] : {};
        if (isErrorCode(code)) {
          throw new LockgateError(code, message, { details });
        }
        throw new ServerError(code, message, response.status, details);
      }
      throw new CliError(
        'SERVER_RESPONSE_INVALID',
        `The server answered ${method} ${url.pathname} with HTTP ${response.status} and no error code`,
        { details: { status: response.status } },
      );
    }
    if (!isRecord(parsed)) {
      throw new CliError(
        'SERVER_RESPONSE_INVALID',
        `The server answered ${method} ${url.pathname} with a body that is not a JSON object`,
        { details: { status: response.status } },
      );
    }
    return { status: response.status, body: parsed };
  }

  /**
   * Opens a Server-Sent Events stream (`GET path`, bearer token, no timeout: it stays open) and
   * returns its body as text chunks; SERVER_UNREACHABLE when it cannot be opened, the server's
   * code when it refuses.
   */
  async openStream(path: string, signal: AbortSignal): Promise<ReadableStream<string>> {
    const url = new URL(path.replace(/^\//, ''), this.#base);
    let response: Response;
    try {
      response = await this.#fetch(url, {
        headers: { authorization: `Bearer ${this.#token}`, accept: 'text/event-stream' },
        signal,
      });
    } catch (error) {
      throw new CliError(
        'SERVER_UNREACHABLE',
        `Cannot reach the server at ${this.server} (${networkReason(error)})`,
        { details: { server: this.server }, cause: error },
      );
    }
    if (!response.ok || response.body === null) {
      const text = await response.text();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text) as unknown;
      } catch {
        parsed = undefined;
      }
      if (isRecord(parsed) && typeof parsed['code'] === 'string') {
        const code = parsed['code'];
        const message = typeof parsed['message'] === 'string' ? parsed['message'] : code;
        if (isErrorCode(code)) throw new LockgateError(code, message, { details: {} });
        throw new ServerError(code, message, response.status, {});
      }
      throw new CliError(
        'SERVER_RESPONSE_INVALID',
        `The server answered GET ${url.pathname} with HTTP ${response.status} and no stream`,
        { details: { status: response.status } },
      );
    }
    return response.body.pipeThrough(new TextDecoderStream());
  }
}

/** The named field of a JSON object response, which must be an object; else SERVER_RESPONSE_INVALID. */
export function objectField<T>(body: unknown, field: string): T {
  const value = isRecord(body) ? body[field] : undefined;
  if (!isRecord(value)) {
    throw new CliError(
      'SERVER_RESPONSE_INVALID',
      `The server's answer lacks the object '${field}'`,
    );
  }
  return value as T;
}

/** The `items` array of a list response; else SERVER_RESPONSE_INVALID. */
export function itemsOf<T>(body: unknown): T[] {
  const items = isRecord(body) ? body['items'] : undefined;
  if (!Array.isArray(items) || !items.every(isRecord)) {
    throw new CliError('SERVER_RESPONSE_INVALID', "The server's answer lacks the array 'items'");
  }
  return items as T[];
}

/** The whole body as an object (for responses that are the resource itself). */
export function bodyObject<T>(body: unknown): T {
  if (!isRecord(body)) {
    throw new CliError('SERVER_RESPONSE_INVALID', "The server's answer is not a JSON object");
  }
  return body as T;
}
