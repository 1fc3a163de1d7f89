import {
  CreateTokenBody,
  CreateTokenResponse,
  errorResponses,
  TokenListResponse,
  TokenNameParams,
  TokenResponse,
} from '@lockgate/api';
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../../http/auth.ts';
import type { TokenService } from './token-service.ts';

export function tokenRoutes(app: FastifyInstance, options: { tokens: TokenService }): void {
  const { tokens } = options;

  app.post<{ Body: CreateTokenBody }>(
    '/tokens',
    {
      config: { roles: ['admin'] },
      schema: {
        summary: 'Create an API token (admin only)',
        description:
          'The secret is in this answer only; the server keeps its sha256. An agent token needs ' +
          'a scope (VALIDATION_FAILED without one); other roles take none. CONFLICT when the ' +
          'name is taken (revoked tokens included) or reserved (admin, controller).',
        tags: ['tokens'],
        body: CreateTokenBody,
        response: {
          201: CreateTokenResponse,
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const created = await tokens.create(request.body, actorOf(request).name);
      return reply.code(201).send(created);
    },
  );

  app.get(
    '/tokens',
    {
      config: { roles: ['admin'] },
      schema: {
        summary: 'List API tokens, revoked ones too (admin only)',
        tags: ['tokens'],
        response: {
          200: TokenListResponse,
          ...errorResponses,
        },
      },
    },
    async () => ({ items: await tokens.list() }),
  );

  app.delete<{ Params: TokenNameParams }>(
    '/tokens/:name',
    {
      config: { roles: ['admin'] },
      schema: {
        summary: 'Revoke an API token (admin only)',
        description:
          'Refused with 401 from now on; its open event streams end at once. TOKEN_NOT_FOUND; ' +
          'CONFLICT when no active admin token would be left.',
        tags: ['tokens'],
        params: TokenNameParams,
        response: { 200: TokenResponse, ...errorResponses },
      },
    },
    async (request) => ({
      token: await tokens.revoke(request.params.name, actorOf(request).name),
    }),
  );
}
