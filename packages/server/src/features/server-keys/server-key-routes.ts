import { errorResponses, ServerKeyListResponse } from '@lockgate/api';
import type { FastifyInstance } from 'fastify';
import type { ServerKeyService } from './server-key-service.ts';

export function serverKeyRoutes(
  app: FastifyInstance,
  options: { serverKeys: ServerKeyService },
): void {
  const { serverKeys } = options;
  app.get(
    '/server/keys',
    {
      config: { roles: ['admin', 'operator', 'viewer', 'agent'], agentScope: 'none' },
      schema: {
        summary: "The server's public keys (the channel-index signing key)",
        tags: ['server'],
        response: {
          200: ServerKeyListResponse,
          ...errorResponses,
        },
      },
    },
    async () => {
      await serverKeys.indexKey();
      return { items: await serverKeys.list() };
    },
  );
}
