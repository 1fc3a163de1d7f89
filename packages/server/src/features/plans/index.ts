/** The feature as the server wires it: its store, its service and its routes. */
export { planRoutes } from './plan-routes.ts';
export { createPlanService } from './plan-service.ts';
export type { PlanService, PlanView } from './plan-service.ts';
export { createPlanStore } from './plan-store.ts';
export type { PlanStore } from './plan-store.ts';
