import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { HealthService } from './health-service.ts';

export function healthRoutes(app: FastifyInstance, options: { health: HealthService }): void {
  const { health } = options;

  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness: the process answers',
        tags: ['health'],
        security: [],
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: the database answers',
        tags: ['health'],
        security: [],
        response: {
          200: Type.Object({ status: Type.Literal('ready') }),
          503: Type.Object({ status: Type.Literal('unavailable') }),
        },
      },
    },
    async (_request, reply) =>
      (await health.ready())
        ? reply.code(200).send({ status: 'ready' })
        : reply.code(503).send({ status: 'unavailable' }),
  );
}
