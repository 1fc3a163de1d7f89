import { COMMAND_KINDS, RELEASE_STATES, WEEKDAYS } from '@lockgate/core';
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../../http/auth.ts';
import { idempotencyKeyOf } from '../../http/idempotency-key.ts';
import {
  errorResponses,
  Integer,
  JsonObject,
  LimitQuery,
  limitOf,
  Name,
  Reason,
  StringEnum,
} from '../../http/schemas.ts';
import { DecisionRecordSchema } from '../decisions/decision-routes.ts';
import type { ReleaseService } from './release-service.ts';

const ReleaseId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' });

export const ReleaseSchema = Type.Object(
  {
    id: Type.String(),
    env: Type.String(),
    channel: Type.String(),
    pack: Type.String(),
    packSequence: Type.Integer(),
    basePack: Type.Union([Type.String(), Type.Null()]),
    plan: JsonObject,
    state: StringEnum(RELEASE_STATES),
    stageIndex: Type.Integer(),
    stageStartedAt: Type.Union([Type.String(), Type.Null()]),
    stageEnteredBy: Type.Optional(Type.String()),
    approvals: Type.Array(
      Type.Object(
        { stage: Type.Integer(), actor: Type.String(), at: Type.String() },
        { additionalProperties: false },
      ),
    ),
    requestedBy: Type.String(),
    reason: Type.String(),
    schedule: Type.Optional(JsonObject),
    pausedReason: Type.Optional(Type.String()),
    blockedBy: Type.Optional(Type.String()),
    outcome: Type.Optional(JsonObject),
    version: Type.Integer(),
    createdAt: Type.String(),
    updatedAt: Type.String(),
    currentStage: Type.Union([
      Type.Object(
        {
          name: Type.String(),
          percent: Type.Number(),
          cohort: Type.Union([Type.String(), Type.Null()]),
          startedAt: Type.Union([Type.String(), Type.Null()]),
          soakSeconds: Type.Integer(),
        },
        { additionalProperties: false },
      ),
      Type.Null(),
    ]),
  },
  { $id: 'Release', additionalProperties: false },
);

const CreateBody = Type.Object(
  {
    pack: Type.String({ minLength: 1, maxLength: 512, description: 'digest or name@version' }),
    env: Name,
    channel: Name,
    plan: Type.Optional(Name),
    reason: Reason,
    schedule: Type.Optional(
      Type.Object(
        {
          notBefore: Type.Optional(Type.String({ maxLength: 64 })),
          window: Type.Optional(
            Type.Object(
              {
                days: Type.Array(StringEnum(WEEKDAYS), { minItems: 1, maxItems: 7 }),
                start: Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' }),
                durationMinutes: Integer({ minimum: 1, maximum: 10080 }),
              },
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const CommandBody = Type.Object(
  {
    reason: Reason,
    full: Type.Optional(Type.Boolean({ description: 'promote only: straight to the last stage' })),
  },
  { additionalProperties: false },
);

const IdParams = Type.Object({ id: ReleaseId }, { additionalProperties: false });
const CommandParams = Type.Object(
  { id: ReleaseId, command: StringEnum(COMMAND_KINDS) },
  { additionalProperties: false },
);

const ListQuery = Type.Object(
  {
    env: Type.Optional(Name),
    channel: Type.Optional(Name),
    state: Type.Optional(StringEnum(RELEASE_STATES)),
    limit: Type.Optional(LimitQuery),
  },
  { additionalProperties: false },
);

const ReleaseResponse = Type.Object({ release: Type.Ref(ReleaseSchema) });

const GateResultSchema = Type.Object(
  {
    metric: Type.String(),
    kind: Type.Optional(Type.Literal('compare')),
    gate: Type.Optional(Type.String({ description: 'which gate of the plan: stage#index' })),
    mode: Type.Optional(StringEnum(['enforce', 'shadow'] as const)),
    onFail: Type.Optional(StringEnum(['rollback', 'pause'] as const)),
    words: Type.Optional(Type.String({ description: 'the verdict in one sentence' })),
    compare: Type.Optional(
      Type.Object(
        {},
        {
          additionalProperties: true,
          description: 'compare gates: evidence (effect, interval, p-value), baseline, looks',
        },
      ),
    ),
    verdict: StringEnum(['pass', 'fail', 'inconclusive'] as const),
    measured: Type.Union([Type.Number(), Type.Null()]),
    threshold: Type.Number(),
    op: Type.String(),
    targets: Type.Integer(),
    samples: Type.Number(),
    reasons: Type.Array(Type.String()),
    provider: Type.Optional(Type.Literal('prometheus')),
    query: Type.Optional(Type.String()),
    answer: Type.Optional(
      Type.Object(
        {
          at: Type.String(),
          status: StringEnum(['success', 'error'] as const),
          series: Type.Array(
            Type.Object(
              { labels: Type.Record(Type.String(), Type.String()), value: Type.String() },
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const ReleaseWhySchema = Type.Object(
  {
    at: Type.String(),
    blockers: Type.Array(
      Type.Object({ kind: Type.String(), message: Type.String() }, { additionalProperties: false }),
    ),
    freeze: Type.Union([
      Type.Object(
        { id: Type.String(), reason: Type.String(), from: Type.String(), until: Type.String() },
        { additionalProperties: false },
      ),
      Type.Null(),
    ]),
    stage: Type.Union([
      Type.Object(
        {
          index: Type.Integer(),
          name: Type.String(),
          percent: Type.Number(),
          cohort: Type.Union([Type.String(), Type.Null()]),
          startedAt: Type.Union([Type.String(), Type.Null()]),
          targets: Type.Integer({ description: 'targets told to run the pack now' }),
          onPack: Type.Integer({ description: 'targets reporting the pack as active' }),
          channelTargets: Type.Integer(),
          soakSeconds: Type.Integer(),
          progressDeadlineSeconds: Type.Integer(),
        },
        { additionalProperties: false },
      ),
      Type.Null(),
    ]),
    gates: Type.Array(GateResultSchema),
    refusals: Type.Object(
      {
        targets: Type.Integer(),
        groups: Type.Array(
          Type.Object(
            {
              kind: Type.String(),
              code: Type.String(),
              targets: Type.Integer(),
              sample: Type.Array(Type.String()),
            },
            { additionalProperties: false },
          ),
        ),
      },
      { additionalProperties: false },
    ),
    approvals: Type.Union([
      Type.Object(
        {
          stage: Type.Integer(),
          name: Type.String(),
          needed: Type.Integer(),
          approvers: Type.Array(Type.String()),
          waiting: Type.Boolean(),
        },
        { additionalProperties: false },
      ),
      Type.Null(),
    ]),
    verification: Type.Union([
      Type.Object(
        {
          ok: Type.Boolean(),
          reasons: Type.Array(
            Type.Object(
              { code: Type.Optional(Type.String()), message: Type.String() },
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
      Type.Null(),
    ]),
  },
  { additionalProperties: false },
);

const ReleaseStatusResponse = Type.Object({
  release: Type.Ref(ReleaseSchema),
  why: Type.Union([ReleaseWhySchema, Type.Null()]),
});

export function releaseRoutes(app: FastifyInstance, options: { releases: ReleaseService }): void {
  const { releases } = options;

  app.post<{ Body: Static<typeof CreateBody> }>(
    '/releases',
    {
      schema: {
        summary: 'Release a pack into a channel',
        description:
          'The controller takes it from `requested`. RELEASE_CONFLICT when a release is active in ' +
          'the channel; PACK_NOT_FOUND, PLAN_NOT_FOUND, CHANNEL_NOT_FOUND. Honours Idempotency-Key.',
        tags: ['releases'],
        body: CreateBody,
        response: { 201: ReleaseResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const release = await releases.create(
        request.body,
        actorOf(request).name,
        idempotencyKeyOf(request),
      );
      return reply.code(201).send({ release });
    },
  );

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/releases',
    {
      schema: {
        summary: 'List releases, newest first',
        tags: ['releases'],
        querystring: ListQuery,
        response: {
          200: Type.Object({ items: Type.Array(Type.Ref(ReleaseSchema)) }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { env, channel, state, limit } = request.query;
      return {
        items: await releases.list({
          ...(env === undefined ? {} : { env }),
          ...(channel === undefined ? {} : { channel }),
          ...(state === undefined ? {} : { state }),
          limit: limitOf(limit),
        }),
      };
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/releases/:id',
    {
      schema: {
        summary: 'One release, and why it is (not) moving',
        description:
          '`why` (null once the release ended) is computed now from the context the controller ' +
          'reads: the blocking freeze window, the stage and how many targets it reaches, the ' +
          "stage's gates against their thresholds, agent refusals of the pack (codes and " +
          'counts), pending approvals, verification; `blockers` says it in short sentences.',
        tags: ['releases'],
        params: IdParams,
        response: { 200: ReleaseStatusResponse, ...errorResponses },
      },
    },
    async (request) => releases.status(request.params.id),
  );

  app.post<{ Params: Static<typeof CommandParams>; Body: Static<typeof CommandBody> }>(
    '/releases/:id/:command',
    {
      schema: {
        summary: 'An operator command: pause resume abort promote approve reject retry rollback',
        description:
          'Through core applyCommand, recorded with the token name as actor. ' +
          'RELEASE_STATE_INVALID, APPROVAL_SELF, APPROVAL_DUPLICATE, FREEZE_ACTIVE, ' +
          'ROLLBACK_TARGET_MISSING. Honours Idempotency-Key.',
        tags: ['releases'],
        params: CommandParams,
        body: CommandBody,
        response: { 200: ReleaseResponse, ...errorResponses },
      },
    },
    async (request) => ({
      release: await releases.command(
        request.params.id,
        request.params.command,
        request.body,
        actorOf(request).name,
        idempotencyKeyOf(request),
      ),
    }),
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/releases/:id/timeline',
    {
      schema: {
        summary: "The release's decision records, in order",
        tags: ['releases'],
        params: IdParams,
        response: {
          200: Type.Object({ items: Type.Array(Type.Ref(DecisionRecordSchema)) }),
          ...errorResponses,
        },
      },
    },
    async (request) => ({ items: await releases.timeline(request.params.id) }),
  );
}
