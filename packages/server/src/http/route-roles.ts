/**
 * Who may call a route is declared on the route itself, next to its handler, in Fastify's route
 * `config` (`config: { roles: ['admin', 'operator'] }`); the auth hook (`auth.ts`) reads it from
 * `request.routeOptions.config`. There is no table elsewhere to drift from the routes.
 *
 * Invariants, checked as each route is added (`checkRouteAccess`; the app does not start
 * otherwise — fail closed):
 * - Every route declares either `roles` (a non-empty list of token roles, without repeats) or
 *   `public: true` (health checks and the OpenAPI document), never both; a route under the
 *   token-checked scope must declare roles.
 * - `viewer` is read only: it appears on GET (and the HEAD Fastify adds for it) routes only.
 * - A route open to `agent` says which part of the agent's scope its path names
 *   (`agentScope`): `target` (the `:id` parameter), `channel` (`:env`/`:channel`), or `none`
 *   (content-addressed packs, public keys; `POST /reports`, whose service checks the scope for
 *   every target its body names). A route closed to agents declares none.
 */
import { TOKEN_ROLES } from '@lockgate/api';
import type { TokenRole } from '@lockgate/api';

/** What an agent route's path names, checked against the token's scope before the body. */
export type AgentScopeKind = 'target' | 'channel' | 'none';

const AGENT_SCOPE_KINDS: readonly AgentScopeKind[] = ['target', 'channel', 'none'];

/** The access declaration of a route (Fastify route `config`). */
export interface RouteAccess {
  /** the token roles that may call the route */
  roles?: readonly TokenRole[];
  /** for routes open to agents: what of the agent's scope the path names */
  agentScope?: AgentScopeKind;
  /** answered without a token (outside the token-checked scope only) */
  public?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    roles?: readonly TokenRole[];
    agentScope?: AgentScopeKind;
    public?: boolean;
  }
}

/** Methods that only read; the only ones a viewer may call. */
const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

/**
 * The problems of a route's access declaration (empty when it is sound). `secured`: the route
 * is under the token-checked scope, so it must name roles.
 */
export function routeAccessProblems(
  method: string | readonly string[],
  config: unknown,
  secured: boolean,
): string[] {
  const access = (typeof config === 'object' && config !== null ? config : {}) as RouteAccess;
  const methods = typeof method === 'string' ? [method] : [...method];
  const problems: string[] = [];
  if (access.public === true) {
    if (access.roles !== undefined) problems.push('declares both public and roles');
    if (secured) problems.push('is public but under the token-checked scope');
    return problems;
  }
  const roles = access.roles;
  if (!Array.isArray(roles) || roles.length === 0) {
    return ['declares no roles (config.roles) and is not public'];
  }
  for (const role of roles as unknown[]) {
    if (!TOKEN_ROLES.includes(role as TokenRole))
      problems.push(`names an unknown role ${String(role)}`);
  }
  if (new Set(roles).size !== roles.length) problems.push('names a role twice');
  if (roles.includes('viewer') && !methods.every((m) => READ_METHODS.has(m))) {
    problems.push('lets viewer tokens call a method that is not a read');
  }
  const agentScope = access.agentScope;
  if (roles.includes('agent')) {
    if (agentScope === undefined || !AGENT_SCOPE_KINDS.includes(agentScope)) {
      problems.push('is open to agent tokens without declaring agentScope (target, channel, none)');
    }
  } else if (agentScope !== undefined) {
    problems.push('declares agentScope but is closed to agent tokens');
  }
  return problems;
}

/** Throws when a route's access declaration is not sound (the app then does not start). */
export function checkRouteAccess(
  method: string | readonly string[],
  url: string,
  config: unknown,
  secured: boolean,
): void {
  const problems = routeAccessProblems(method, config, secured);
  if (problems.length > 0) {
    const methods = typeof method === 'string' ? method : method.join(',');
    throw new Error(`Route ${methods} ${url} ${problems.join('; ')}.`);
  }
}

/** Admin tokens only. */
export const ADMIN: readonly TokenRole[] = ['admin'];
/** Admin and operator tokens: commands that change releases, channels or environments. */
export const OPERATORS: readonly TokenRole[] = ['admin', 'operator'];
/** Everyone who reads the fleet's state: admins, operators and viewers. */
export const READERS: readonly TokenRole[] = ['admin', 'operator', 'viewer'];
