/** The feature as the server wires it: its store, its service and its routes. */
export { createIdempotencyStore } from './idempotency-store.ts';
export type { IdempotencyStore } from './idempotency-store.ts';
