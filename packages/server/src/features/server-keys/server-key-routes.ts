import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { errorResponses } from '../../http/schemas.ts';
import type { ServerKeyService } from './server-key-service.ts';

export function serverKeyRoutes(
  app: FastifyInstance,
  options: { serverKeys: ServerKeyService },
): void {
  const { serverKeys } = options;
  app.get(
    '/server/keys',
    {
      schema: {
        summary: "The server's public keys (the channel-index signing key)",
        tags: ['server'],
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Object(
                { keyId: Type.String(), publicKeyPem: Type.String(), use: Type.String() },
                { additionalProperties: false },
              ),
            ),
          }),
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
