import { GATE_STATUSES } from '@lockgate/core';
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../../http/auth.ts';
import { errorResponses, LimitQuery, limitOf, StringEnum } from '../../http/schemas.ts';
import type { BuildService } from './build-service.ts';

const BUILD_STATUSES = ['passed', 'failed'] as const;

const BuildId = Type.String({ minLength: 1, maxLength: 256, pattern: '^\\S+$' });

const GateSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 256 }),
    status: StringEnum(GATE_STATUSES),
    details: Type.Optional(Type.String({ maxLength: 65536 })),
  },
  { additionalProperties: false },
);

const SourceSchema = Type.Object(
  {
    repo: Type.Optional(Type.String({ maxLength: 2048 })),
    commit: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: false },
);

const InputsSchema = Type.Record(
  Type.String({ maxLength: 256 }),
  Type.String({ maxLength: 4096 }),
  {
    maxProperties: 256,
  },
);

export const BuildRecordSchema = Type.Object(
  {
    id: Type.String(),
    status: StringEnum(BUILD_STATUSES),
    gates: Type.Array(GateSchema),
    packDigest: Type.Union([Type.String(), Type.Null()]),
    source: Type.Optional(SourceSchema),
    inputs: Type.Optional(InputsSchema),
    reportedAt: Type.String(),
  },
  { $id: 'BuildRecord', additionalProperties: false },
);

const ReportBody = Type.Object(
  {
    id: BuildId,
    gates: Type.Array(GateSchema, { maxItems: 1000 }),
    packDigest: Type.Optional(
      Type.String({ description: 'sha256:<64 hex>; only for a passed build' }),
    ),
    source: Type.Optional(SourceSchema),
    inputs: Type.Optional(InputsSchema),
  },
  { additionalProperties: false },
);

const ListQuery = Type.Object(
  {
    status: Type.Optional(StringEnum(BUILD_STATUSES)),
    limit: Type.Optional(LimitQuery),
  },
  { additionalProperties: false },
);

const IdParams = Type.Object({ id: BuildId }, { additionalProperties: false });

const BuildResponse = Type.Object({ build: Type.Ref(BuildRecordSchema) });

export function buildRoutes(app: FastifyInstance, options: { builds: BuildService }): void {
  const { builds } = options;

  app.post<{ Body: Static<typeof ReportBody> }>(
    '/builds',
    {
      schema: {
        summary: 'Report a build and its gates',
        description:
          'The status is derived from the gates. 201 when recorded, 200 when the identical build ' +
          'was already reported, 409 BUILD_CONFLICT when the id was reported with other content.',
        tags: ['builds'],
        body: ReportBody,
        response: { 200: BuildResponse, 201: BuildResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { build, created } = await builds.report(request.body, actorOf(request).name);
      return reply.code(created ? 201 : 200).send({ build });
    },
  );

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/builds',
    {
      schema: {
        summary: 'List builds, newest first',
        tags: ['builds'],
        querystring: ListQuery,
        response: {
          200: Type.Object({ items: Type.Array(Type.Ref(BuildRecordSchema)) }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { status, limit } = request.query;
      const items = await builds.list({
        ...(status === undefined ? {} : { status }),
        limit: limitOf(limit),
      });
      return { items };
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/builds/:id',
    {
      schema: {
        summary: 'One build',
        tags: ['builds'],
        params: IdParams,
        response: { 200: BuildResponse, ...errorResponses },
      },
    },
    async (request) => ({ build: await builds.get(request.params.id) }),
  );
}
