import { LivenessResponse, NotReadyResponse, ReadyResponse } from '@lockgate/api';
import type { FastifyInstance } from 'fastify';
import type { HealthService } from './health-service.ts';

export function healthRoutes(app: FastifyInstance, options: { health: HealthService }): void {
  const { health } = options;

  app.get(
    '/healthz',
    {
      config: { public: true },
      schema: {
        summary: 'Liveness: the process answers',
        tags: ['health'],
        security: [],
        response: { 200: LivenessResponse },
      },
    },
    () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { public: true },
      schema: {
        summary: 'Readiness: the database answers',
        tags: ['health'],
        security: [],
        response: {
          200: ReadyResponse,
          503: NotReadyResponse,
        },
      },
    },
    async (_request, reply) =>
      (await health.ready())
        ? reply.code(200).send({ status: 'ready' })
        : reply.code(503).send({ status: 'unavailable' }),
  );
}
