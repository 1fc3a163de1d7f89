import { LockgateError } from '@lockgate/core';
import type { FastifyRequest } from 'fastify';

const KEY = /^[\x21-\x7e]{1,255}$/;

/** The request's `Idempotency-Key` header (1–255 visible ASCII characters), or undefined. */
export function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const header = request.headers['idempotency-key'];
  if (header === undefined) return undefined;
  if (typeof header !== 'string' || !KEY.test(header)) {
    throw new LockgateError(
      'VALIDATION_FAILED',
      'The Idempotency-Key header must be 1 to 255 visible ASCII characters.',
      { details: { in: 'headers', header: 'idempotency-key' } },
    );
  }
  return header;
}
