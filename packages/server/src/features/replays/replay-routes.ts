import {
  CreateReplayBody,
  errorResponses,
  limitOf,
  ReleaseIdParams,
  ReplayListQuery,
  ReplayListResponse,
  ReplayResponse,
} from '@lockgate/api';
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../../http/auth.ts';
import { OPERATORS, READERS } from '../../http/route-roles.ts';
import type { ReplayService } from './replay-service.ts';

export function replayRoutes(app: FastifyInstance, options: { replays: ReplayService }): void {
  const { replays } = options;

  app.post<{ Params: ReleaseIdParams; Body: CreateReplayBody }>(
    '/releases/:id/replays',
    {
      config: { roles: OPERATORS },
      schema: {
        summary: 'Replay every decision of a release on the current core',
        description:
          'Re-runs core decide / applyCommand on the context and time each decision record names ' +
          'and compares the draft digests; answers when done with the figures (total, matching, ' +
          'mismatches, match rate) and, for each mismatch, the record and the first differing ' +
          'field. The request is kept with its requester and reason. RELEASE_NOT_FOUND.',
        tags: ['releases'],
        params: ReleaseIdParams,
        body: CreateReplayBody,
        response: { 201: ReplayResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const replay = await replays.create(request.params.id, request.body, actorOf(request).name);
      return reply.code(201).send({ replay });
    },
  );

  app.get<{ Params: ReleaseIdParams; Querystring: ReplayListQuery }>(
    '/releases/:id/replays',
    {
      config: { roles: READERS },
      schema: {
        summary: "A release's replays with their figures, newest first",
        tags: ['releases'],
        params: ReleaseIdParams,
        querystring: ReplayListQuery,
        response: { 200: ReplayListResponse, ...errorResponses },
      },
    },
    async (request) => ({
      items: await replays.list(request.params.id, limitOf(request.query.limit)),
    }),
  );
}
