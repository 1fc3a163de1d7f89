/** The feature as the server wires it: its store and its jobs (error budget policy, checkpoints, freeze window starts). */
export { createErrorBudgetPolicy } from './error-budget-policy.ts';
export { createOperationsJobs } from './operations-jobs.ts';
export type { OperationsJobs } from './operations-jobs.ts';
export { createSloStore } from './slo-store.ts';
export type { SloStore } from './slo-store.ts';
