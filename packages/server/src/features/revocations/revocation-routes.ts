import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../../http/auth.ts';
import { errorResponses, Reason } from '../../http/schemas.ts';
import type { RevocationService } from './revocation-service.ts';

const RevocationSchema = Type.Object(
  { pack: Type.String(), reason: Type.String(), actor: Type.String(), revokedAt: Type.String() },
  { additionalProperties: false },
);

const DigestParams = Type.Object(
  { digest: Type.String({ description: 'the pack digest, sha256:<64 hex>' }) },
  { additionalProperties: false },
);
const ReasonBody = Type.Object({ reason: Reason }, { additionalProperties: false });

export function revocationRoutes(
  app: FastifyInstance,
  options: { revocations: RevocationService },
): void {
  const { revocations } = options;

  app.post<{ Params: Static<typeof DigestParams>; Body: Static<typeof ReasonBody> }>(
    '/packs/:digest/revoke',
    {
      schema: {
        summary: 'Revoke a pack everywhere',
        description:
          'Recorded; every channel index is re-signed with it in `revoked`, so no target is told ' +
          'to run it, and a release of it fails verification (or rolls back). 200 also when it ' +
          'was already revoked.',
        tags: ['packs'],
        params: DigestParams,
        body: ReasonBody,
        response: { 200: Type.Object({ revoked: Type.String() }), ...errorResponses },
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
      schema: {
        summary: 'Revoked packs, oldest first',
        tags: ['packs'],
        response: {
          200: Type.Object({ items: Type.Array(RevocationSchema) }),
          ...errorResponses,
        },
      },
    },
    async () => ({ items: await revocations.list() }),
  );
}
