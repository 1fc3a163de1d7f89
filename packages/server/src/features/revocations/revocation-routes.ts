import {
  errorResponses,
  RevocationListResponse,
  RevokePackBody,
  RevokePackParams,
  RevokePackResponse,
} from '@lockgate/api';
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../../http/auth.ts';
import type { RevocationService } from './revocation-service.ts';

export function revocationRoutes(
  app: FastifyInstance,
  options: { revocations: RevocationService },
): void {
  const { revocations } = options;

  app.post<{ Params: RevokePackParams; Body: RevokePackBody }>(
    '/packs/:digest/revoke',
    {
      config: { roles: ['admin', 'operator'] },
      schema: {
        summary: 'Revoke a pack everywhere',
        description:
          'Recorded; every channel index is re-signed with it in `revoked`, so no target is told ' +
          'to run it, and a release of it fails verification (or rolls back). 200 also when it ' +
          'was already revoked.',
        tags: ['packs'],
        params: RevokePackParams,
        body: RevokePackBody,
        response: { 200: RevokePackResponse, ...errorResponses },
      },
    },
    async (request) => {
      const { revocation } = await revocations.revoke(
        request.params.digest,
        request.body.reason,
        actorOf(request).name,
      );
      return { revoked: revocation.pack };
    },
  );

  app.get(
    '/revocations',
    {
      config: { roles: ['admin', 'operator', 'viewer'] },
      schema: {
        summary: 'Revoked packs, oldest first',
        tags: ['packs'],
        response: {
          200: RevocationListResponse,
          ...errorResponses,
        },
      },
    },
    async () => ({ items: await revocations.list() }),
  );
}
