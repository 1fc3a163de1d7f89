import { LockgateError } from '@lockgate/core';
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { Actor, TokenService } from '../features/tokens/token-service.ts';
import { isPermitted } from './permissions.ts';

const actors = new WeakMap<FastifyRequest, Actor>();

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerTokenOf(header: string | undefined): string | null {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
  return match?.[1] ?? null;
}

/**
 * An onRequest hook for the routes under `apiPrefix`: refuses requests without a valid bearer
 * token (401) and those its role may not make (403, `http/permissions.ts`), before the body is
 * read, and records the actor.
 */
export function createAuthHook(tokens: TokenService, apiPrefix: string): onRequestAsyncHookHandler {
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
    // The route as declared (`/api/v1/targets/:id`), not the URL it matched.
    const route = request.routeOptions.url ?? request.url;
    const path = route.startsWith(apiPrefix) ? route.slice(apiPrefix.length) : route;
    if (!isPermitted(actor.role, request.method, path)) {
      throw new LockgateError(
        'FORBIDDEN',
        `The ${actor.role} token ${actor.name} may not call ${request.method} ${route}.`,
        { details: { role: actor.role, route: `${request.method} ${route}` } },
      );
    }
    actors.set(request, actor);
  };
}

/** The actor the auth hook attached; a route outside the secured scope has none. */
export function actorOf(request: FastifyRequest): Actor {
  const actor = actors.get(request);
  if (actor === undefined) throw new LockgateError('UNAUTHORIZED', 'A bearer token is required.');
  return actor;
}
