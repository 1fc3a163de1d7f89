import {
  errorResponses,
  PlanListResponse,
  PlanNameParams,
  PlanResponse,
  PutPlanBody,
} from '@lockgate/api';
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../../http/auth.ts';
import type { PlanService } from './plan-service.ts';

export function planRoutes(app: FastifyInstance, options: { plans: PlanService }): void {
  const { plans } = options;

  app.get(
    '/plans',
    {
      config: { roles: ['admin', 'operator', 'viewer'] },
      schema: {
        summary: 'List plans: the built-ins (canary, all-at-once), then user plans',
        tags: ['plans'],
        response: {
          200: PlanListResponse,
          ...errorResponses,
        },
      },
    },
    async () => ({ items: await plans.list() }),
  );

  app.get<{ Params: PlanNameParams }>(
    '/plans/:name',
    {
      config: { roles: ['admin', 'operator', 'viewer'] },
      schema: {
        summary: 'One plan',
        tags: ['plans'],
        params: PlanNameParams,
        response: { 200: PlanResponse, ...errorResponses },
      },
    },
    async (request) => ({ plan: await plans.get(request.params.name) }),
  );

  app.put<{ Params: PlanNameParams; Body: PutPlanBody }>(
    '/plans/:name',
    {
      config: { roles: ['admin', 'operator'] },
      schema: {
        summary: 'Create or replace a user plan',
        description:
          'Checked by core validatePlan: PLAN_INVALID with details.problems. Built-in names ' +
          'cannot be replaced. 201 when created, 200 when replaced.',
        tags: ['plans'],
        params: PlanNameParams,
        body: PutPlanBody,
        response: { 200: PlanResponse, 201: PlanResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { plan, created } = await plans.put(
        request.params.name,
        request.body.stages,
        actorOf(request).name,
      );
      return reply.code(created ? 201 : 200).send({ plan });
    },
  );
}
