import type { TokenRole } from '../features/tokens/token-service.ts';

/**
 * The one place that says which role may call which route, and which part of an agent token's
 * scope each agent route is held to. Routes are written as Fastify declares them under the API
 * prefix: `METHOD /path/:param`; HEAD counts as GET.
 */

/*
 * The transparency log routes (features/log/log-routes.ts, LOG_ROLES) are for admin and
 * operator tokens: the operator rule below admits them; they are not agent routes. So are a
 * release's evidence routes (features/evidence/evidence-routes.ts, EVIDENCE_ROLES).
 */

/** Token management: admin tokens only. */
export const ADMIN_ONLY_PATH = '/tokens';

/**
 * What an agent route's path names, checked against the token's scope before the body is read:
 * `target` — the `:id` parameter must match a target pattern (the service then checks the
 * target's channels); `channel` — `:env`/`:channel` must match a channel pattern; `none` — the
 * route names neither (content-addressed packs, public keys).
 */
export type AgentScopeKind = 'target' | 'channel' | 'none';

/** Everything an agent calls: register, report, read what to run, fetch packs and index keys. */
export const AGENT_ROUTE_SCOPES: ReadonlyMap<string, AgentScopeKind> = new Map([
  ['PUT /targets/:id', 'target'],
  ['POST /targets/:id/reports', 'target'],
  ['GET /targets/:id/desired', 'target'],
  ['GET /channels/:env/:channel/index', 'channel'],
  ['GET /channels/:env/:channel/events', 'channel'],
  ['GET /packs/:digest', 'none'],
  ['GET /server/keys', 'none'],
]);

export const AGENT_ROUTES: ReadonlySet<string> = new Set(AGENT_ROUTE_SCOPES.keys());

/** The route key of the permission map: HEAD counts as GET. */
function routeKey(method: string, path: string): string {
  return `${method === 'HEAD' ? 'GET' : method} ${path}`;
}

/** Whether a token of `role` may call the route `method path` (path without the API prefix). */
export function isPermitted(role: TokenRole, method: string, path: string): boolean {
  switch (role) {
    case 'admin':
      return true;
    case 'operator':
      return path !== ADMIN_ONLY_PATH && !path.startsWith(`${ADMIN_ONLY_PATH}/`);
    case 'agent':
      return AGENT_ROUTES.has(routeKey(method, path));
  }
}

/** The scope kind of an agent route; undefined for a route agents may not call. */
export function agentScopeOf(method: string, path: string): AgentScopeKind | undefined {
  return AGENT_ROUTE_SCOPES.get(routeKey(method, path));
}
