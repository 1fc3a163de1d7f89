import {
  ChannelParams,
  DecisionListQuery,
  DecisionListResponse,
  errorResponses,
  GateReportSchema,
  limitOf,
} from '@lockgate/api';
import type { FastifyInstance } from 'fastify';
import { READERS } from '../../http/route-roles.ts';
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

  app.get<{ Params: ChannelParams }>(
    '/channels/:env/:channel/gate-report',
    {
      config: { roles: READERS },
      schema: {
        summary: 'How often each shadow gate agreed with how the releases ended',
        description:
          "Read from the decision records of the channel's completed and rolled-back releases: " +
          'a shadow gate agreed when it failed and the release was rolled back, or never failed ' +
          'and it completed. CHANNEL_NOT_FOUND.',
        tags: ['decisions'],
        params: ChannelParams,
        response: { 200: GateReportSchema, ...errorResponses },
      },
    },
    async (request) => decisions.gateReport(request.params.env, request.params.channel),
  );
}
