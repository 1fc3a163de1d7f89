import { WEEKDAYS } from '@lockgate/core';
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../../http/auth.ts';
import { errorResponses, Integer, Name, Reason, StringEnum } from '../../http/schemas.ts';
import { ChannelSchema } from '../channels/channel-routes.ts';
import type { EnvironmentService } from './environment-service.ts';

export const EnvironmentSchema = Type.Object(
  {
    name: Type.String(),
    description: Type.String(),
    createdAt: Type.String(),
  },
  { $id: 'Environment', additionalProperties: false },
);

export const FreezeWindowSchema = Type.Object(
  {
    id: Type.String(),
    env: Type.String(),
    reason: Type.String(),
    kind: StringEnum(['once', 'weekly'] as const),
    start: Type.String({ description: 'once: RFC 3339 time; weekly: HH:MM UTC' }),
    end: Type.Optional(Type.String({ description: 'once only' })),
    days: Type.Optional(Type.Array(Type.String(), { description: 'weekly only' })),
    durationMinutes: Type.Optional(Type.Integer({ description: 'weekly only' })),
    createdAt: Type.String(),
    createdBy: Type.String(),
  },
  { $id: 'FreezeWindow', additionalProperties: false },
);

const EnvParams = Type.Object({ env: Name }, { additionalProperties: false });
const FreezeParams = Type.Object(
  { env: Name, id: Type.String({ minLength: 1, maxLength: 128 }) },
  { additionalProperties: false },
);

const PutBody = Type.Object(
  { description: Type.Optional(Type.String({ maxLength: 1024 })) },
  { additionalProperties: false },
);

const FreezeBody = Type.Union([
  Type.Object(
    {
      reason: Reason,
      kind: Type.Literal('once'),
      start: Type.String({ maxLength: 64 }),
      end: Type.String({ maxLength: 64 }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      reason: Reason,
      kind: Type.Literal('weekly'),
      days: Type.Array(StringEnum(WEEKDAYS), { minItems: 1, maxItems: 7 }),
      start: Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' }),
      durationMinutes: Integer({ minimum: 1, maximum: 10080 }),
    },
    { additionalProperties: false },
  ),
]);

const ReasonBody = Type.Object({ reason: Reason }, { additionalProperties: false });

const EnvironmentResponse = Type.Object({ environment: Type.Ref(EnvironmentSchema) });
const FreezeResponse = Type.Object({ freezeWindow: Type.Ref(FreezeWindowSchema) });

export function environmentRoutes(
  app: FastifyInstance,
  options: { environments: EnvironmentService },
): void {
  const { environments } = options;

  app.put<{ Params: Static<typeof EnvParams>; Body: Static<typeof PutBody> }>(
    '/environments/:env',
    {
      schema: {
        summary: 'Create or describe an environment',
        description: '201 when created, 200 when it existed (the description is updated).',
        tags: ['environments'],
        params: EnvParams,
        body: PutBody,
        response: { 200: EnvironmentResponse, 201: EnvironmentResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { environment, created } = await environments.put(
        request.params.env,
        request.body,
        actorOf(request).name,
      );
      return reply.code(created ? 201 : 200).send({ environment });
    },
  );

  app.get(
    '/environments',
    {
      schema: {
        summary: 'List environments',
        tags: ['environments'],
        response: {
          200: Type.Object({ items: Type.Array(Type.Ref(EnvironmentSchema)) }),
          ...errorResponses,
        },
      },
    },
    async () => ({ items: await environments.list() }),
  );

  app.get<{ Params: Static<typeof EnvParams> }>(
    '/environments/:env',
    {
      schema: {
        summary: 'An environment with its channels and freeze windows',
        tags: ['environments'],
        params: EnvParams,
        response: {
          200: Type.Object({
            environment: Type.Ref(EnvironmentSchema),
            channels: Type.Array(Type.Ref(ChannelSchema)),
            freezeWindows: Type.Array(Type.Ref(FreezeWindowSchema)),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => environments.get(request.params.env),
  );

  app.post<{ Params: Static<typeof EnvParams>; Body: Static<typeof FreezeBody> }>(
    '/environments/:env/freeze-windows',
    {
      schema: {
        summary: 'Add a freeze window',
        description:
          'A one-off window (`kind: once`, RFC 3339 start and end) or a weekly one (`kind: weekly`, ' +
          'days, HH:MM UTC start, durationMinutes). Releases do not start or advance inside it; ' +
          'rollbacks still happen. Recorded.',
        tags: ['environments'],
        params: EnvParams,
        body: FreezeBody,
        response: { 201: FreezeResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const freezeWindow = await environments.addFreezeWindow(
        request.params.env,
        request.body,
        actorOf(request).name,
      );
      return reply.code(201).send({ freezeWindow });
    },
  );

  app.delete<{ Params: Static<typeof FreezeParams>; Body: Static<typeof ReasonBody> }>(
    '/environments/:env/freeze-windows/:id',
    {
      schema: {
        summary: 'Remove a freeze window',
        tags: ['environments'],
        params: FreezeParams,
        body: ReasonBody,
        response: { 200: FreezeResponse, ...errorResponses },
      },
    },
    async (request) => ({
      freezeWindow: await environments.removeFreezeWindow(
        request.params.env,
        request.params.id,
        request.body.reason,
        actorOf(request).name,
      ),
    }),
  );
}
