import { LockgateError } from '@lockgate/core';
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { Actor, TokenService } from '../features/tokens/token-service.ts';

const actors = new WeakMap<FastifyRequest, Actor>();

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerTokenOf(header: string | undefined): string | null {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
  return match?.[1] ?? null;
}

/** An onRequest hook: refuses requests without a valid bearer token and records the actor. */
export function createAuthHook(tokens: TokenService): onRequestAsyncHookHandler {
  return async (request) => {
    const token = bearerTokenOf(request.headers.authorization);
    if (token === null) {
      throw new LockgateError(
        'UNAUTHORIZED',
        'A bearer token is required (Authorization: Bearer <token>).',
      );
    }
    const actor = await tokens.authenticate(token);
    if (actor === null) throw new LockgateError('UNAUTHORIZED', 'The bearer token is not valid.');
    actors.set(request, actor);
  };
}

/** The actor the auth hook attached; a route outside the secured scope has none. */
export function actorOf(request: FastifyRequest): Actor {
  const actor = actors.get(request);
  if (actor === undefined) throw new LockgateError('UNAUTHORIZED', 'A bearer token is required.');
  return actor;
}
