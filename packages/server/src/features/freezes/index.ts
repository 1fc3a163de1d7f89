/** The feature as the server wires it: its store, its service and its routes. */
export { freezeRoutes } from './freeze-routes.ts';
export { createFreezeService } from './freeze-service.ts';
export type { FreezeService } from './freeze-service.ts';
