import { ERROR_CODES, httpStatusOf, isLockgateError } from '@lockgate/core';
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
  409: 'CONFLICT',
  413: 'BODY_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
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
  void reply.code(status).type('application/json; charset=utf-8').send(body);
}

/** The 404 answer for routes that do not exist. */
export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): void {
  void reply
    .code(httpStatusOf('NOT_FOUND'))
    .send({ code: 'NOT_FOUND', message: `No route ${request.method} ${request.url}.` });
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
