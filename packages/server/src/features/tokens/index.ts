/** The feature as the server wires it: its store, its service and its routes. */
export { tokenRoutes } from './token-routes.ts';
export { assertChannelInScope, assertTargetInScope } from './token-scope.ts';
export { ADMIN_TOKEN_FILE, TOKEN_ROLES, createTokenService, hashToken } from './token-service.ts';
export type {
  Actor,
  CreateTokenInput,
  TokenRole,
  TokenService,
  TokenView,
} from './token-service.ts';
export { createTokenStore } from './token-store.ts';
export type { TokenStore } from './token-store.ts';
