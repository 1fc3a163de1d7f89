/** The feature as the server wires it: its store, its service and its routes. */
export { createPostgresLease, createSqliteLease } from './controller-lease.ts';
export { REPORT_RETENTION_SECONDS, createController, newHolderId } from './controller.ts';
export type { Controller, TickResult } from './controller.ts';
export { createLeaseStore } from './lease-store.ts';
export type { LeaseStore } from './lease-store.ts';
