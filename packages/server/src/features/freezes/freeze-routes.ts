import {
  errorResponses,
  ActiveFreezeSchema,
  ErrorBudgetBody,
  ActiveFreezeListResponse,
  LiftFreezeBody,
  StopTheLineBody,
} from '@lockgate/api';
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../../http/auth.ts';
import { OPERATORS, READERS } from '../../http/route-roles.ts';
import type { FreezeService } from './freeze-service.ts';

/** Stop the line and the error budget policy: operators and admins. */
export function freezeRoutes(app: FastifyInstance, options: { freezes: FreezeService }): void {
  const { freezes } = options;

  app.post<{ Body: Static<typeof StopTheLineBody> }>(
    '/freezes',
    {
      config: { roles: OPERATORS },
      schema: {
        summary: 'Stop the line: freeze every environment (or those named) now',
        description:
          'A one-time freeze window from now until lifted (or `until`) in each environment: no ' +
          'release starts or advances; pauses and rollbacks still happen. An environment already ' +
          'stopped is skipped. Recorded (`freeze.stop_the_line`).',
        tags: ['freezes'],
        body: StopTheLineBody,
        response: { 201: ActiveFreezeListResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { reason, envs, until } = request.body;
      const items = await freezes.stopTheLine(
        { reason, envs: envs ?? null, ...(until === undefined ? {} : { until }) },
        actorOf(request).name,
      );
      return reply.code(201).send({ items });
    },
  );

  app.post<{ Body: Static<typeof LiftFreezeBody> }>(
    '/freezes/lift',
    {
      config: { roles: OPERATORS },
      schema: {
        summary: 'Lift stop-the-line and error-budget freezes',
        description:
          'Removes the freezes made by stop the line and by the error budget policy in every ' +
          'environment (or those named); scheduled freeze windows stay. Recorded (`freeze.lifted`).',
        tags: ['freezes'],
        body: LiftFreezeBody,
        response: { 200: ActiveFreezeListResponse, ...errorResponses },
      },
    },
    async (request) => ({
      items: await freezes.lift(
        { reason: request.body.reason, envs: request.body.envs ?? null },
        actorOf(request).name,
      ),
    }),
  );

  app.get(
    '/freezes',
    {
      config: { roles: READERS },
      schema: {
        summary: 'Every freeze in effect now',
        tags: ['freezes'],
        response: { 200: ActiveFreezeListResponse, ...errorResponses },
      },
    },
    async () => ({ items: await freezes.active() }),
  );

  app.post<{ Body: Static<typeof ErrorBudgetBody> }>(
    '/freezes/error-budget',
    {
      config: { roles: OPERATORS },
      schema: {
        summary: 'Report an SLO error budget; an exhausted one freezes the environment',
        description:
          'The error budget policy (docs/operations/slos.md): when `good` of `total` events ' +
          'spent the budget of `objective`, the environment is frozen until lifted ' +
          '(`freeze.error_budget_exhausted`, recorded with the numbers). Fewer than 100 events ' +
          'decide nothing. Called by whatever measures the SLO (an Alertmanager bridge, a cron).',
        tags: ['freezes'],
        body: ErrorBudgetBody,
        response: {
          200: Type.Object({
            budget: Type.Object({}, { additionalProperties: true }),
            frozen: Type.Union([ActiveFreezeSchema, Type.Null()]),
            alreadyFrozen: Type.Boolean(),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => freezes.reportErrorBudget(request.body, actorOf(request).name),
  );
}
