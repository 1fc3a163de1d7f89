import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { errorResponses, LimitQuery, limitOf } from '../../http/schemas.ts';
import type { TokenRole } from '../tokens/token-service.ts';
import type { LogService } from './log-service.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** the roles that may call the route (also in http/permissions.ts) */
    roles?: readonly TokenRole[];
  }
}

/**
 * Who reads the log: admins and operators. Agents do not (they trust signed channel indexes,
 * not the log), so no log route is in the agent route table. The POST of a cosignature is
 * authorized by the witness key the server is configured with, on top of the token.
 */
export const LOG_ROLES: readonly TokenRole[] = ['admin', 'operator'];

const Count = Type.String({ pattern: '^[1-9][0-9]{0,15}$', description: 'a positive integer' });

const Envelope = Type.Object(
  {
    payload: Type.String(),
    payloadType: Type.String(),
    signatures: Type.Array(
      Type.Object({ keyid: Type.String(), sig: Type.String() }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
);

const Base64List = Type.Array(Type.String());

export function logRoutes(app: FastifyInstance, options: { log: LogService }): void {
  const { log } = options;
  const config = { roles: LOG_ROLES };

  app.get(
    '/log/key',
    {
      config,
      schema: {
        summary: "The log's public key: note verifier key, origin, DSSE key id and PEM",
        tags: ['log'],
        response: {
          200: Type.Object(
            {
              origin: Type.String(),
              verifierKey: Type.String(),
              keyId: Type.String(),
              publicKeyPem: Type.String(),
            },
            { additionalProperties: false },
          ),
          ...errorResponses,
        },
      },
    },
    async () => log.key(),
  );

  app.get(
    '/log/checkpoint',
    {
      config,
      schema: {
        summary: 'The latest checkpoint: a C2SP signed note with its witness cosignatures',
        tags: ['log'],
        produces: ['text/plain'],
        response: { 200: Type.String(), ...errorResponses },
      },
    },
    async (_request, reply) => {
      const { note } = await log.checkpoint();
      return reply.type('text/plain; charset=utf-8').header('cache-control', 'no-cache').send(note);
    },
  );

  app.get<{ Params: { seq: string } }>(
    '/log/entries/:seq',
    {
      config,
      schema: {
        summary: 'One log entry: the DSSE envelope of a decision record and its leaf index',
        tags: ['log'],
        params: Type.Object({ seq: Count }, { additionalProperties: false }),
        response: {
          200: Type.Object(
            {
              seq: Type.Integer(),
              leafIndex: Type.Integer(),
              leafHash: Type.String(),
              envelope: Envelope,
            },
            { additionalProperties: false },
          ),
          ...errorResponses,
        },
      },
    },
    async (request) => log.entry(Number(request.params.seq)),
  );

  const InclusionQuery = Type.Object(
    { seq: Count, size: Type.Optional(Count) },
    { additionalProperties: false },
  );
  app.get<{ Querystring: Static<typeof InclusionQuery> }>(
    '/log/proofs/inclusion',
    {
      config,
      schema: {
        summary: 'RFC 9162 inclusion proof of record seq (leaf seq - 1) in the tree of size leaves',
        tags: ['log'],
        querystring: InclusionQuery,
        response: {
          200: Type.Object(
            {
              seq: Type.Integer(),
              leafIndex: Type.Integer(),
              treeSize: Type.Integer(),
              leafHash: Type.String(),
              rootHash: Type.String(),
              proof: Base64List,
            },
            { additionalProperties: false },
          ),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { seq, size } = request.query;
      return log.inclusion(Number(seq), size === undefined ? undefined : Number(size));
    },
  );

  const ConsistencyQuery = Type.Object({ from: Count, to: Count }, { additionalProperties: false });
  app.get<{ Querystring: Static<typeof ConsistencyQuery> }>(
    '/log/proofs/consistency',
    {
      config,
      schema: {
        summary: 'RFC 9162 consistency proof between tree sizes from and to',
        tags: ['log'],
        querystring: ConsistencyQuery,
        response: {
          200: Type.Object(
            { from: Type.Integer(), to: Type.Integer(), proof: Base64List },
            { additionalProperties: false },
          ),
          ...errorResponses,
        },
      },
    },
    async (request) => log.consistency(Number(request.query.from), Number(request.query.to)),
  );

  const CheckpointsQuery = Type.Object(
    {
      after: Type.Optional(Type.String({ pattern: '^(0|[1-9][0-9]{0,15})$' })),
      limit: Type.Optional(LimitQuery),
    },
    { additionalProperties: false },
  );
  app.get<{ Querystring: Static<typeof CheckpointsQuery> }>(
    '/log/checkpoints',
    {
      config,
      schema: {
        summary: 'Every stored checkpoint (signed by the log key), oldest first, for auditors',
        tags: ['log'],
        querystring: CheckpointsQuery,
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Object(
                { size: Type.Integer(), note: Type.String(), createdAt: Type.String() },
                { additionalProperties: false },
              ),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => ({
      items: await log.checkpoints(Number(request.query.after ?? 0), limitOf(request.query.limit)),
    }),
  );

  const CosignatureBody = Type.Object(
    {
      checkpoint: Type.String({ minLength: 1, maxLength: 4096, description: 'the cosigned body' }),
      cosignature: Type.String({ minLength: 1, maxLength: 1024, description: 'one note line' }),
    },
    { additionalProperties: false },
  );
  app.post<{ Body: Static<typeof CosignatureBody> }>(
    '/log/cosignatures',
    {
      config,
      schema: {
        summary: 'A witness posts its C2SP cosignature/v1 of a checkpoint',
        tags: ['log'],
        body: CosignatureBody,
        response: {
          201: Type.Object(
            { size: Type.Integer(), witness: Type.String() },
            { additionalProperties: false },
          ),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => reply.code(201).send(await log.addCosignature(request.body)),
  );
}
