/** The feature as the server wires it: its store, its service and its routes. */
export type { BuildReport } from './build-record.ts';
export { buildRoutes } from './build-routes.ts';
export { createBuildService } from './build-service.ts';
export type { BuildService } from './build-service.ts';
export { createBuildStore } from './build-store.ts';
export type { BuildStore } from './build-store.ts';
