import {
  AddTrustedKeyBody,
  errorResponses,
  TrustedKeyListResponse,
  TrustedKeyParams,
  TrustedKeyResponse,
} from '@lockgate/api';
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../../http/auth.ts';
import type { TrustService } from './trust-service.ts';

export function trustRoutes(app: FastifyInstance, options: { trust: TrustService }): void {
  const { trust } = options;

  app.post<{ Body: AddTrustedKeyBody }>(
    '/trust/keys',
    {
      config: { roles: ['admin', 'operator'] },
      schema: {
        summary: 'Trust a build key',
        description: '201 when added, 200 when already trusted, 400 KEY_INVALID for a bad key.',
        tags: ['trust'],
        body: AddTrustedKeyBody,
        response: { 200: TrustedKeyResponse, 201: TrustedKeyResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { key, created } = await trust.add(request.body, actorOf(request).name);
      return reply.code(created ? 201 : 200).send({ key });
    },
  );

  app.get(
    '/trust/keys',
    {
      config: { roles: ['admin', 'operator', 'viewer'] },
      schema: {
        summary: 'List trusted build keys',
        tags: ['trust'],
        response: {
          200: TrustedKeyListResponse,
          ...errorResponses,
        },
      },
    },
    async () => ({ items: await trust.list() }),
  );

  app.delete<{ Params: TrustedKeyParams }>(
    '/trust/keys/:keyId',
    {
      config: { roles: ['admin', 'operator'] },
      schema: {
        summary: 'Stop trusting a build key',
        tags: ['trust'],
        params: TrustedKeyParams,
        response: { 200: TrustedKeyResponse, ...errorResponses },
      },
    },
    async (request) => ({ key: await trust.remove(request.params.keyId) }),
  );
}
