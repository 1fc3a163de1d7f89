/** The feature as the server wires it: its store, its service and its routes. */
export { logRoutes } from './log-routes.ts';
export { createLogService } from './log-service.ts';
export type { LogService } from './log-service.ts';
export { createLogStore } from './log-store.ts';
export type { LogStore } from './log-store.ts';
