import {
  AddFreezeWindowBody,
  EnvironmentDetailResponse,
  EnvironmentListResponse,
  EnvironmentParams,
  EnvironmentResponse,
  errorResponses,
  FreezeWindowParams,
  FreezeWindowResponse,
  PutEnvironmentBody,
  ReasonBody,
} from '@lockgate/api';
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../../http/auth.ts';
import type { EnvironmentService } from './environment-service.ts';

export function environmentRoutes(
  app: FastifyInstance,
  options: { environments: EnvironmentService },
): void {
  const { environments } = options;

  app.put<{ Params: EnvironmentParams; Body: PutEnvironmentBody }>(
    '/environments/:env',
    {
      config: { roles: ['admin', 'operator'] },
      schema: {
        summary: 'Create or describe an environment',
        description: '201 when created, 200 when it existed (the description is updated).',
        tags: ['environments'],
        params: EnvironmentParams,
        body: PutEnvironmentBody,
        response: { 200: EnvironmentResponse, 201: EnvironmentResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { environment, created } = await environments.put(
        request.params.env,
        request.body,
        actorOf(request).name,
      );
      return reply.code(created ? 201 : 200).send({ environment });
    },
  );

  app.get(
    '/environments',
    {
      config: { roles: ['admin', 'operator', 'viewer'] },
      schema: {
        summary: 'List environments',
        tags: ['environments'],
        response: {
          200: EnvironmentListResponse,
          ...errorResponses,
        },
      },
    },
    async () => ({ items: await environments.list() }),
  );

  app.get<{ Params: EnvironmentParams }>(
    '/environments/:env',
    {
      config: { roles: ['admin', 'operator', 'viewer'] },
      schema: {
        summary: 'An environment with its channels and freeze windows',
        tags: ['environments'],
        params: EnvironmentParams,
        response: {
          200: EnvironmentDetailResponse,
          ...errorResponses,
        },
      },
    },
    async (request) => environments.get(request.params.env),
  );

  app.post<{ Params: EnvironmentParams; Body: AddFreezeWindowBody }>(
    '/environments/:env/freeze-windows',
    {
      config: { roles: ['admin', 'operator'] },
      schema: {
        summary: 'Add a freeze window',
        description:
          'A one-off window (`kind: once`, RFC 3339 start and end) or a weekly one (`kind: weekly`, ' +
          'days, HH:MM UTC start, durationMinutes). Releases do not start or advance inside it; ' +
          'rollbacks still happen. Recorded.',
        tags: ['environments'],
        params: EnvironmentParams,
        body: AddFreezeWindowBody,
        response: { 201: FreezeWindowResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const freezeWindow = await environments.addFreezeWindow(
        request.params.env,
        request.body,
        actorOf(request).name,
      );
      return reply.code(201).send({ freezeWindow });
    },
  );

  app.delete<{ Params: FreezeWindowParams; Body: ReasonBody }>(
    '/environments/:env/freeze-windows/:id',
    {
      config: { roles: ['admin', 'operator'] },
      schema: {
        summary: 'Remove a freeze window',
        tags: ['environments'],
        params: FreezeWindowParams,
        body: ReasonBody,
        response: { 200: FreezeWindowResponse, ...errorResponses },
      },
    },
    async (request) => ({
      freezeWindow: await environments.removeFreezeWindow(
        request.params.env,
        request.params.id,
        request.body.reason,
        actorOf(request).name,
      ),
    }),
  );
}
