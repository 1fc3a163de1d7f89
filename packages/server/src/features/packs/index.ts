/** The feature as the server wires it: its store, its service and its routes. */
export { packRoutes } from './pack-routes.ts';
export { createPackService } from './pack-service.ts';
export type { PackService, PackSummary } from './pack-service.ts';
export { createPackStore } from './pack-store.ts';
export type { PackStore } from './pack-store.ts';
