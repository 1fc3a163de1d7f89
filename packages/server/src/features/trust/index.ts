/** The feature as the server wires it: its store, its service and its routes. */
export { trustRoutes } from './trust-routes.ts';
export { createTrustService } from './trust-service.ts';
export type { TrustService, TrustedKeyView } from './trust-service.ts';
export { createTrustStore } from './trust-store.ts';
export type { TrustStore } from './trust-store.ts';
