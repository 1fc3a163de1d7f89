import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../../http/auth.ts';
import { errorResponses } from '../../http/schemas.ts';
import type { TrustService } from './trust-service.ts';

export const TrustedKeySchema = Type.Object(
  {
    keyId: Type.String({ description: 'hex sha256 of the SPKI DER encoding' }),
    name: Type.String(),
    publicKeyPem: Type.String(),
    addedAt: Type.String(),
  },
  { $id: 'TrustedKey', additionalProperties: false },
);

const AddBody = Type.Object(
  {
    publicKeyPem: Type.String({ minLength: 1, maxLength: 16384, description: 'Ed25519 SPKI PEM' }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  },
  { additionalProperties: false },
);

const KeyParams = Type.Object(
  { keyId: Type.String({ minLength: 1, maxLength: 256 }) },
  { additionalProperties: false },
);

const KeyResponse = Type.Object({ key: Type.Ref(TrustedKeySchema) });

export function trustRoutes(app: FastifyInstance, options: { trust: TrustService }): void {
  const { trust } = options;

  app.post<{ Body: Static<typeof AddBody> }>(
    '/trust/keys',
    {
      schema: {
        summary: 'Trust a build key',
        description: '201 when added, 200 when already trusted, 400 KEY_INVALID for a bad key.',
        tags: ['trust'],
        body: AddBody,
        response: { 200: KeyResponse, 201: KeyResponse, ...errorResponses },
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
      schema: {
        summary: 'List trusted build keys',
        tags: ['trust'],
        response: {
          200: Type.Object({ items: Type.Array(Type.Ref(TrustedKeySchema)) }),
          ...errorResponses,
        },
      },
    },
    async () => ({ items: await trust.list() }),
  );

  app.delete<{ Params: Static<typeof KeyParams> }>(
    '/trust/keys/:keyId',
    {
      schema: {
        summary: 'Stop trusting a build key',
        tags: ['trust'],
        params: KeyParams,
        response: { 200: KeyResponse, ...errorResponses },
      },
    },
    async (request) => ({ key: await trust.remove(request.params.keyId) }),
  );
}
