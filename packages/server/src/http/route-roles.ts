import type { TokenRole } from '../features/tokens/token-service.ts';

/**
 * A route may declare the roles that may call it beside its handler:
 * `{ config: { roles: ['admin'] } }`. http/permissions.ts still decides today and must agree
 * (ADMIN_ONLY_PATHS); the declaration is what replaces the table.
 */
declare module 'fastify' {
  interface FastifyContextConfig {
    roles?: readonly TokenRole[];
  }
}

export const ADMIN: readonly TokenRole[] = ['admin'];
export const OPERATORS: readonly TokenRole[] = ['admin', 'operator'];
