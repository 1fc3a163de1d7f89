import { LockgateError } from '@lockgate/core';
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { assertChannelInScope, assertTargetInScope } from '../features/tokens/index.ts';
import type { Actor, TokenService } from '../features/tokens/index.ts';
import type { AgentScopeKind } from './route-roles.ts';

const actors = new WeakMap<FastifyRequest, Actor>();

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerTokenOf(header: string | undefined): string | null {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
  return match?.[1] ?? null;
}

/**
 * An onRequest hook for the token-checked routes: refuses requests without a valid bearer
 * token (401), those whose route does not list the token's role in its `config.roles` (403;
 * a route that lists none refuses every token — fail closed) and, for agent tokens, those whose
 * path names a target or channel outside the token's scope (403, by the route's
 * `config.agentScope`), before the body is read; and records the actor. What only the body or
 * the stored target tells (the channel a target registers in or is registered in) the services
 * check against the actor's scope.
 */
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
    // The route as declared (`/api/v1/targets/:id`), not the URL it matched.
    const route = request.routeOptions.url ?? request.url;
    const { roles, agentScope } = request.routeOptions.config;
    if (roles === undefined || !roles.includes(actor.role)) {
      throw new LockgateError(
        'FORBIDDEN',
        `The ${actor.role} token ${actor.name} may not call ${request.method} ${route}.`,
        { details: { role: actor.role, route: `${request.method} ${route}` } },
      );
    }
    if (actor.role === 'agent') checkAgentScope(actor, agentScope, request.params);
    actors.set(request, actor);
  };
}

/** FORBIDDEN when the agent's path names a target or channel outside its scope. */
function checkAgentScope(
  actor: Actor,
  agentScope: AgentScopeKind | undefined,
  params: unknown,
): void {
  const scope = actor.scope;
  if (scope === null) return;
  if (scope.targets.length === 0 || scope.channels.length === 0) {
    throw new LockgateError(
      'FORBIDDEN',
      `The agent token ${actor.name} has no scope (it was created before token scopes), so it ` +
        'speaks for nothing. Create a scoped one (lockgate token create NAME --role agent ' +
        '--target ID --channel ENV/CHANNEL) and revoke this one.',
      { details: { token: actor.name, role: actor.role } },
    );
  }
  const values = (params ?? {}) as Record<string, string | undefined>;
  switch (agentScope) {
    case 'target':
      assertTargetInScope(actor, values['id'] ?? '');
      return;
    case 'channel':
      assertChannelInScope(actor, values['env'] ?? '', values['channel'] ?? '', 'read the channel');
      return;
    case 'none':
    case undefined:
      return;
  }
}

/** The actor the auth hook attached; a route outside the secured scope has none. */
export function actorOf(request: FastifyRequest): Actor {
  const actor = actors.get(request);
  if (actor === undefined) throw new LockgateError('UNAUTHORIZED', 'A bearer token is required.');
  return actor;
}
