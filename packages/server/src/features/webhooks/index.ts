/** The feature as the server wires it: its store, its service and its routes. */
export { webhookRoutes } from './webhook-routes.ts';
export { createWebhookService } from './webhook-service.ts';
export type { WebhookService } from './webhook-service.ts';
export {
  DEFAULT_SIGNATURE_TOLERANCE_SECONDS,
  signatureHeader,
  verifyWebhookSignature,
} from './webhook-signature.ts';
export { createWebhookStore } from './webhook-store.ts';
export type { WebhookStore } from './webhook-store.ts';
export type { WebhookWorkerOptions } from './webhook-worker.ts';
