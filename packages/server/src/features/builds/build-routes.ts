import {
  BuildIdParams,
  BuildListQuery,
  BuildListResponse,
  BuildResponse,
  errorResponses,
  limitOf,
  ReportBuildBody,
} from '@lockgate/api';
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../../http/auth.ts';
import type { BuildService } from './build-service.ts';

export function buildRoutes(app: FastifyInstance, options: { builds: BuildService }): void {
  const { builds } = options;

  app.post<{ Body: ReportBuildBody }>(
    '/builds',
    {
      config: { roles: ['admin', 'operator'] },
      schema: {
        summary: 'Report a build and its gates',
        description:
          'The status is derived from the gates. 201 when recorded, 200 when the identical build ' +
          'was already reported, 409 BUILD_CONFLICT when the id was reported with other content.',
        tags: ['builds'],
        body: ReportBuildBody,
        response: { 200: BuildResponse, 201: BuildResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { build, created } = await builds.report(request.body, actorOf(request).name);
      return reply.code(created ? 201 : 200).send({ build });
    },
  );

  app.get<{ Querystring: BuildListQuery }>(
    '/builds',
    {
      config: { roles: ['admin', 'operator', 'viewer'] },
      schema: {
        summary: 'List builds, newest first',
        tags: ['builds'],
        querystring: BuildListQuery,
        response: {
          200: BuildListResponse,
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { status, limit } = request.query;
      const items = await builds.list({
        ...(status === undefined ? {} : { status }),
        limit: limitOf(limit),
      });
      return { items };
    },
  );

  app.get<{ Params: BuildIdParams }>(
    '/builds/:id',
    {
      config: { roles: ['admin', 'operator', 'viewer'] },
      schema: {
        summary: 'One build',
        tags: ['builds'],
        params: BuildIdParams,
        response: { 200: BuildResponse, ...errorResponses },
      },
    },
    async (request) => ({ build: await builds.get(request.params.id) }),
  );
}
