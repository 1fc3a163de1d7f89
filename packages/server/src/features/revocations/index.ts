/** The feature as the server wires it: its store, its service and its routes. */
export { revocationRoutes } from './revocation-routes.ts';
export { createRevocationService } from './revocation-service.ts';
export type { RevocationService, RevocationView } from './revocation-service.ts';
export { createRevocationStore } from './revocation-store.ts';
export type { RevocationStore } from './revocation-store.ts';
