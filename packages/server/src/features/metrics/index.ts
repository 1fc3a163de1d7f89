/** The feature as the server wires it: its store, its service and its routes. */
export { metricsRoutes } from './metrics-routes.ts';
export { createMetricsService } from './metrics-service.ts';
export type { MetricsService } from './metrics-service.ts';
export { createMetricsStore } from './metrics-store.ts';
export type { MetricsStore } from './metrics-store.ts';
export { createPrometheusAnswers } from './prometheus-answers.ts';
