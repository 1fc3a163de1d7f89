/** The feature as the server wires it: its store, its service and its routes. */
export { createCheckinCache } from './checkin-cache.ts';
export type { CheckinCache } from './checkin-cache.ts';
export { targetRoutes } from './target-routes.ts';
export { createTargetService } from './target-service.ts';
export type { DesiredView, TargetService, TargetView } from './target-service.ts';
export { createTargetStore } from './target-store.ts';
export type { TargetStore } from './target-store.ts';
export type { ReportQueueOptions } from './report-queue.ts';
export { startReportBatchWriter } from './report-writer.ts';
export type { ReportBatchWriter } from './report-writer.ts';
