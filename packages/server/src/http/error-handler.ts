/**
 * Every error answer of the server has one shape, `{code, message, details?}`, with a code of
 * core's `ERROR_CODES` and its status from `@lockgate/api`'s `ERROR_STATUS`: errors of routes and hooks, Fastify's own (bad JSON, body too
 * large, unsupported media type, a malformed URL), unknown routes (404) and methods (405), and
 * requests Node's HTTP parser refuses before Fastify sees them (400, 408, 431). An unexpected
 * error never leaks its message. A 429 carries `Retry-After` (seconds) from its
 * `details.retryAfterSeconds`.
 */
import { STATUS_CODES as HTTP_STATUS_TEXT } from 'node:http';
import type { Duplex } from 'node:stream';
import { httpStatusOf } from '@lockgate/api';
import { ERROR_CODES, isLockgateError, LockgateError } from '@lockgate/core';
import type { ErrorCode } from '@lockgate/core';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** The body of every error response. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export interface ErrorResponse {
  status: number;
  body: ErrorBody;
}

/** Fastify's own client errors, by their code. */
const FASTIFY_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_VALIDATION: 'VALIDATION_FAILED',
  FST_ERR_BAD_URL: 'BAD_REQUEST',
  FST_ERR_MAX_PARAM_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_NOT_FOUND: 'NOT_FOUND',
};

/** Other 4xx statuses raised by Fastify or its plugins. */
const STATUS_CODES: Readonly<Record<number, ErrorCode>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  408: 'REQUEST_TIMEOUT',
  409: 'CONFLICT',
  413: 'BODY_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  431: 'HEADERS_TOO_LARGE',
};

/**
 * Maps any thrown value to a status and an error body. LockgateErrors keep their code and
 * message; Fastify's client errors get the matching code; anything else is INTERNAL with a
 * generic message, so an unexpected error never leaks.
 */
export function toErrorResponse(error: unknown): ErrorResponse {
  if (isLockgateError(error)) {
    const body: ErrorBody = { code: error.code, message: error.message };
    if (Object.keys(error.details).length > 0) body.details = error.details;
    return { status: httpStatusOf(error.code), body };
  }
  if (error instanceof Error) {
    const fastifyCode = 'code' in error && typeof error.code === 'string' ? error.code : '';
    const status =
      'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : 0;
    const mapped = FASTIFY_CODES[fastifyCode];
    if (mapped === 'VALIDATION_FAILED') {
      return { status: httpStatusOf(mapped), body: validationBody(error) };
    }
    if (mapped !== undefined) {
      return {
        status: httpStatusOf(mapped),
        body: { code: mapped, message: sentence(error.message) },
      };
    }
    if (status >= 400 && status < 500) {
      const code = STATUS_CODES[status] ?? 'BAD_REQUEST';
      return { status: httpStatusOf(code), body: { code, message: sentence(error.message) } };
    }
  }
  return { status: 500, body: { code: 'INTERNAL', message: ERROR_CODES.INTERNAL.summary } };
}

/** The one error handler of the app. */
export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const { status, body } = toErrorResponse(error);
  if (status >= 500) {
    request.log.error({ err: error }, 'request failed with an unexpected error');
    body.details = { requestId: request.id };
  } else {
    request.log.info({ code: body.code, status }, body.message);
  }
  // A failing download may already have set file headers.
  reply.removeHeader('content-range');
  reply.removeHeader('content-length');
  reply.removeHeader('etag');
  if (status === 401) reply.header('www-authenticate', 'Bearer');
  const retryAfter = body.details?.['retryAfterSeconds'];
  if (status === 429 && typeof retryAfter === 'number')
    reply.header('retry-after', `${retryAfter}`);
  void reply.code(status).type('application/json; charset=utf-8').send(body);
}

/**
 * The answer for URLs no route matches: 405 with `Allow` when the path exists for other
 * methods (`allowedMethods` lists them), else 404.
 */
export function createNotFoundHandler(
  allowedMethods: (path: string) => readonly string[],
): (request: FastifyRequest, reply: FastifyReply) => void {
  return (request, reply) => {
    const path = request.url.split('?', 1)[0] ?? request.url;
    const allowed = allowedMethods(path);
    if (allowed.length === 0) {
      errorHandler(
        new LockgateError('NOT_FOUND', `No route ${request.method} ${request.url}.`),
        request,
        reply,
      );
      return;
    }
    void reply.header('allow', allowed.join(', '));
    errorHandler(
      new LockgateError(
        'METHOD_NOT_ALLOWED',
        `${request.method} is not allowed on ${path}; it answers ${allowed.join(', ')}.`,
        { details: { allow: [...allowed] } },
      ),
      request,
      reply,
    );
  };
}

/**
 * Fastify's `clientErrorHandler`: a request Node's HTTP parser refused (a malformed request
 * line or header, headers too large, a timeout) is answered on the socket in the one error
 * shape, then the connection is closed.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const code: ErrorCode =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? 'REQUEST_TIMEOUT'
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? 'HEADERS_TOO_LARGE'
        : 'BAD_REQUEST';
  const message =
    code === 'BAD_REQUEST' ? 'The request is not valid HTTP/1.1.' : ERROR_CODES[code].summary;
  const body = JSON.stringify({ code, message });
  const status = httpStatusOf(code);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${HTTP_STATUS_TEXT[status] ?? 'Error'}\r\n` +
        'Connection: close\r\n' +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

function validationBody(error: Error): ErrorBody {
  const body: ErrorBody = { code: 'VALIDATION_FAILED', message: sentence(error.message) };
  const details: Record<string, unknown> = {};
  if ('validationContext' in error && typeof error.validationContext === 'string') {
    details['in'] = error.validationContext;
  }
  if ('validation' in error && Array.isArray(error.validation)) {
    details['problems'] = (error.validation as unknown[]).map(describeProblem);
  }
  if (Object.keys(details).length > 0) body.details = details;
  return body;
}

function describeProblem(problem: unknown): Record<string, unknown> {
  if (typeof problem !== 'object' || problem === null) return {};
  const { instancePath, message, keyword, params } = problem as Record<string, unknown>;
  const described: Record<string, unknown> = { path: instancePath, keyword, message };
  if (typeof params === 'object' && params !== null && 'additionalProperty' in params) {
    described['property'] = params.additionalProperty;
  }
  return described;
}

function sentence(message: string): string {
  const trimmed = message.trim();
  if (trimmed === '') return 'The request is malformed.';
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}
