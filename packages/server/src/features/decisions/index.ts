/** The feature as the server wires it: its store, its service and its routes. */
export { decisionRecordDigest, draftOf, verifyDecisionChain } from './decision-log.ts';
export type { ChainVerification, DecisionRecordDraft } from './decision-log.ts';
export { decisionRoutes } from './decision-routes.ts';
export { createDecisionService } from './decision-service.ts';
export type { DecisionService } from './decision-service.ts';
export { createDecisionStore } from './decision-store.ts';
export type { DecisionRecord, DecisionStore } from './decision-store.ts';
