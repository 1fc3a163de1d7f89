import type { TokenRole } from '../features/tokens/token-service.ts';

/**
 * The one place that says which role may call which route. Routes are written as Fastify
 * declares them under the API prefix: `METHOD /path/:param`; HEAD counts as GET.
 */

/** Token management: admin tokens only. */
export const ADMIN_ONLY_PATH = '/tokens';

/** Everything an agent calls: register, report, read what to run, fetch packs and index keys. */
export const AGENT_ROUTES: ReadonlySet<string> = new Set([
  'PUT /targets/:id',
  'POST /targets/:id/reports',
  'GET /targets/:id/desired',
  'GET /channels/:env/:channel/index',
  'GET /channels/:env/:channel/events',
  'GET /packs/:digest',
  'GET /server/keys',
]);

/** Whether a token of `role` may call the route `method path` (path without the API prefix). */
export function isPermitted(role: TokenRole, method: string, path: string): boolean {
  switch (role) {
    case 'admin':
      return true;
    case 'operator':
      return path !== ADMIN_ONLY_PATH && !path.startsWith(`${ADMIN_ONLY_PATH}/`);
    case 'agent':
      return AGENT_ROUTES.has(`${method === 'HEAD' ? 'GET' : method} ${path}`);
  }
}
