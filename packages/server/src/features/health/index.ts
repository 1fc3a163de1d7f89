/** The feature as the server wires it: its store, its service and its routes. */
export { healthRoutes } from './health-routes.ts';
export { createHealthService } from './health-service.ts';
export type { HealthService } from './health-service.ts';
