/** The feature as the server wires it: its store, its service and its routes. */
export { releaseRoutes } from './release-routes.ts';
export { createReleaseInputs } from './release-inputs.ts';
export type { OfferedReport, ReleaseInputs } from './release-inputs.ts';
export { createReleaseService } from './release-service.ts';
export type { CurrentStage, ReleaseService, ReleaseView } from './release-service.ts';
export { createReleaseStore } from './release-store.ts';
export type { ReleaseStore } from './release-store.ts';
