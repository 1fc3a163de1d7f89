import { createHash } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../../http/auth.ts';
import { matchesEtag } from '../../http/etag.ts';
import { HOT_ROUTE_LOG_LEVEL } from '../../http/hot-routes.ts';
import {
  BoundedNumber,
  DigestString,
  errorResponses,
  LimitQuery,
  limitOf,
  Name,
  StringEnum,
  StringMap,
} from '../../http/schemas.ts';
import type { TargetService } from './target-service.ts';

const TargetId = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,254}$',
  description: 'A stable target id: letters, digits, . _ : -, up to 255.',
});

const AttemptSchema = Type.Object(
  {
    kind: StringEnum(['activate', 'revert', 'verify'] as const),
    pack: DigestString,
    result: StringEnum(['ok', 'failed'] as const),
    code: Type.Optional(Type.String({ maxLength: 128 })),
    at: Type.String({ maxLength: 64 }),
  },
  { additionalProperties: false },
);

export const TargetSchema = Type.Object(
  {
    id: Type.String(),
    env: Type.String(),
    channel: Type.String(),
    labels: Type.Record(Type.String(), Type.String()),
    capabilities: Type.Record(Type.String(), Type.String()),
    activePack: Type.Union([Type.String(), Type.Null()]),
    lastReportAt: Type.Union([Type.String(), Type.Null()]),
    lastAttempt: Type.Union([AttemptSchema, Type.Null()]),
    registeredAt: Type.String(),
  },
  { $id: 'Target', additionalProperties: false },
);

const IdParams = Type.Object({ id: TargetId }, { additionalProperties: false });

const RegisterBody = Type.Object(
  {
    env: Name,
    channel: Name,
    labels: StringMap,
    capabilities: Type.Optional(StringMap),
  },
  { additionalProperties: false },
);

const Count = BoundedNumber({ minimum: 0 });

const ReportBody = Type.Object(
  {
    activePack: Type.Union([DigestString, Type.Null()]),
    lastAttempt: Type.Optional(AttemptSchema),
    health: Type.Optional(
      Type.Object(
        {
          requests: Type.Optional(Count),
          errors: Type.Optional(Count),
          latencyP95Ms: Type.Optional(Count),
          latencyP99Ms: Type.Optional(Count),
          signals: Type.Optional(
            Type.Record(Type.String({ minLength: 1, maxLength: 128 }), BoundedNumber(), {
              maxProperties: 64,
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const ListQuery = Type.Object(
  { env: Type.Optional(Name), channel: Type.Optional(Name), limit: Type.Optional(LimitQuery) },
  { additionalProperties: false },
);

const TargetResponse = Type.Object({ target: Type.Ref(TargetSchema) });

export function targetRoutes(app: FastifyInstance, options: { targets: TargetService }): void {
  const { targets } = options;

  app.put<{ Params: Static<typeof IdParams>; Body: Static<typeof RegisterBody> }>(
    '/targets/:id',
    {
      schema: {
        summary: 'Register or update a target',
        description:
          'Idempotent. 201 when registered, 200 when updated; a move to another channel is ' +
          'recorded. An agent token: FORBIDDEN unless its scope covers the id, the channel and, ' +
          'for a registered target, the channel it is in.',
        tags: ['targets'],
        params: IdParams,
        body: RegisterBody,
        response: { 200: TargetResponse, 201: TargetResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { target, created } = await targets.register(
        request.params.id,
        request.body,
        actorOf(request),
      );
      return reply.code(created ? 201 : 200).send({ target });
    },
  );

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/targets',
    {
      schema: {
        summary: 'List targets by id',
        tags: ['targets'],
        querystring: ListQuery,
        response: {
          200: Type.Object({ items: Type.Array(Type.Ref(TargetSchema)) }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { env, channel, limit } = request.query;
      return {
        items: await targets.list({
          ...(env === undefined ? {} : { env }),
          ...(channel === undefined ? {} : { channel }),
          limit: limitOf(limit),
        }),
      };
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/targets/:id',
    {
      schema: {
        summary: 'One target',
        tags: ['targets'],
        params: IdParams,
        response: { 200: TargetResponse, ...errorResponses },
      },
    },
    async (request) => ({ target: await targets.get(request.params.id) }),
  );

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof ReportBody> }>(
    '/targets/:id/reports',
    {
      logLevel: HOT_ROUTE_LOG_LEVEL,
      schema: {
        summary: 'Report what a target runs and its health',
        description:
          'The server stamps the time. Counters are deltas since the previous report. 202.',
        tags: ['targets'],
        params: IdParams,
        body: ReportBody,
        response: {
          202: Type.Object({ accepted: Type.Literal(true) }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      await targets.report(request.params.id, request.body, actorOf(request));
      return reply.code(202).send({ accepted: true });
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/targets/:id/desired',
    {
      logLevel: HOT_ROUTE_LOG_LEVEL,
      schema: {
        summary: 'What the target should run, from the current channel index',
        description:
          'core desiredPack on the channel index payload. The ETag changes when pack or reason ' +
          'changes; If-None-Match with it answers 304.',
        tags: ['targets'],
        params: IdParams,
        response: {
          200: Type.Object({
            pack: Type.Union([Type.String(), Type.Null()]),
            reason: StringEnum(['pin', 'rollout', 'base', 'none'] as const),
            indexVersion: Type.Integer(),
          }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const desired = await targets.desired(request.params.id, actorOf(request));
      const tag = createHash('sha256')
        .update(`${desired.pack ?? ''}\n${desired.reason}`)
        .digest('hex')
        .slice(0, 32);
      const etag = `"${tag}"`;
      void reply.header('etag', etag).header('cache-control', 'no-cache');
      if (matchesEtag(request.headers['if-none-match'], etag)) return reply.code(304).send();
      return reply.code(200).send(desired);
    },
  );
}
