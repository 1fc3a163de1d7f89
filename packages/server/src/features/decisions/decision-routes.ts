import { DecisionListQuery, DecisionListResponse, errorResponses, limitOf } from '@lockgate/api';
import type { FastifyInstance } from 'fastify';
import type { DecisionService } from './decision-service.ts';

export function decisionRoutes(
  app: FastifyInstance,
  options: { decisions: DecisionService },
): void {
  const { decisions } = options;

  app.get<{ Querystring: DecisionListQuery }>(
    '/decisions',
    {
      config: { roles: ['admin', 'operator', 'viewer'] },
      schema: {
        summary: 'The decision log in chain order (for export and offline verification)',
        tags: ['decisions'],
        querystring: DecisionListQuery,
        response: {
          200: DecisionListResponse,
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { after, limit } = request.query;
      return {
        items: await decisions.list({
          ...(after === undefined ? {} : { afterSeq: Number(after) }),
          limit: limitOf(limit),
        }),
      };
    },
  );
}
