/** The feature as the server wires it: its store, its service and its routes. */
export { createDecisionContextStore } from './decision-context-store.ts';
export type { DecisionContextStore } from './decision-context-store.ts';
export { replayRoutes } from './replay-routes.ts';
export { createReplayService } from './replay-service.ts';
export type { ReplayService } from './replay-service.ts';
export { createReplayStore } from './replay-store.ts';
export type { ReplayStore } from './replay-store.ts';
