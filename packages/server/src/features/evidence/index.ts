/** The feature as the server wires it: its store, its service and its routes. */
export { evidenceRoutes } from './evidence-routes.ts';
export { createEvidenceService } from './evidence-service.ts';
export type { EvidenceService } from './evidence-service.ts';
