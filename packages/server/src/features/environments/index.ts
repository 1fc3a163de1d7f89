/** The feature as the server wires it: its store, its service and its routes. */
export { environmentRoutes } from './environment-routes.ts';
export { createEnvironmentService } from './environment-service.ts';
export type {
  EnvironmentService,
  EnvironmentView,
  FreezeWindowView,
} from './environment-service.ts';
export { createEnvironmentStore } from './environment-store.ts';
export type { EnvironmentStore } from './environment-store.ts';
