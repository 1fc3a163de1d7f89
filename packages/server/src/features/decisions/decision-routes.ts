import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { errorResponses, JsonObject, LimitQuery, limitOf } from '../../http/schemas.ts';
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
}
