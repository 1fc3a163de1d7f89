import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import {
  errorResponses,
  JsonObject,
  LimitQuery,
  limitOf,
  Name,
  StringEnum,
} from '../../http/schemas.ts';
import type { DecisionService } from './decision-service.ts';

const NullableString = Type.Union([Type.String(), Type.Null()]);

export const DecisionRecordSchema = Type.Object(
  {
    seq: Type.Integer(),
    id: Type.String(),
    release: NullableString,
    env: NullableString,
    channel: NullableString,
    at: Type.String(),
    kind: Type.String(),
    rule: Type.String(),
    actor: Type.String(),
    reason: NullableString,
    from: NullableString,
    to: NullableString,
    stageIndex: Type.Union([Type.Integer(), Type.Null()]),
    inputs: JsonObject,
    verdict: Type.String(),
    holder: NullableString,
    digest: Type.String(),
    prevDigest: NullableString,
  },
  { $id: 'DecisionRecord', additionalProperties: false },
);

const ListQuery = Type.Object(
  {
    after: Type.Optional(
      Type.String({ pattern: '^(0|[1-9][0-9]{0,15})$', description: 'records with seq > after' }),
    ),
    limit: Type.Optional(LimitQuery),
  },
  { additionalProperties: false },
);

const ChannelParams = Type.Object({ env: Name, channel: Name }, { additionalProperties: false });

const GateReportSchema = Type.Object(
  {
    env: Type.String(),
    channel: Type.String(),
    releases: Type.Object(
      { completed: Type.Integer(), rolledBack: Type.Integer() },
      { additionalProperties: false },
    ),
    gates: Type.Array(
      Type.Object(
        {
          stage: Type.String(),
          gate: Type.String(),
          onFail: StringEnum(['rollback', 'pause'] as const),
          releases: Type.Integer(),
          agreed: Type.Integer(),
          falseAlarms: Type.Integer(),
          missed: Type.Integer(),
          agreement: Type.Union([Type.Number(), Type.Null()]),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export function decisionRoutes(
  app: FastifyInstance,
  options: { decisions: DecisionService },
): void {
  const { decisions } = options;

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/decisions',
    {
      schema: {
        summary: 'The decision log in chain order (for export and offline verification)',
        tags: ['decisions'],
        querystring: ListQuery,
        response: {
          200: Type.Object({ items: Type.Array(Type.Ref(DecisionRecordSchema)) }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { after, limit } = request.query;
      return {
        items: await decisions.list({
          ...(after === undefined ? {} : { afterSeq: Number(after) }),
          limit: limitOf(limit),
        }),
      };
    },
  );

  app.get<{ Params: Static<typeof ChannelParams> }>(
    '/channels/:env/:channel/gate-report',
    {
      schema: {
        summary: 'How often each shadow gate agreed with how the releases ended',
        description:
          "Read from the decision records of the channel's completed and rolled-back releases: " +
          'a shadow gate agreed when it failed and the release was rolled back, or never failed ' +
          'and it completed. CHANNEL_NOT_FOUND.',
        tags: ['decisions'],
        params: ChannelParams,
        response: { 200: GateReportSchema, ...errorResponses },
      },
    },
    async (request) => decisions.gateReport(request.params.env, request.params.channel),
  );
}
