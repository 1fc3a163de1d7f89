/** The decision log. */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { JsonObject, LimitQuery, StringEnum } from './vocabulary.ts';

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
    coreVersion: Type.Union([Type.String(), Type.Null()], {
      description:
        'The core that decided (`0.1.0+decide.1`); null on records written before it was kept.',
    }),
  },
  { $id: 'DecisionRecord', additionalProperties: false },
);
export type DecisionRecordView = Static<typeof DecisionRecordSchema>;

export const DecisionListQuery = Type.Object(
  {
    after: Type.Optional(
      Type.String({ pattern: '^(0|[1-9][0-9]{0,15})$', description: 'records with seq > after' }),
    ),
    limit: Type.Optional(LimitQuery),
  },
  { additionalProperties: false },
);
export type DecisionListQuery = Static<typeof DecisionListQuery>;

export const DecisionListResponse = Type.Object({
  items: Type.Array(Type.Ref(DecisionRecordSchema)),
});
export type DecisionListResponse = Static<typeof DecisionListResponse>;

/** How often each shadow gate of a channel agreed with how its releases ended. */
export const GateReportSchema = Type.Object(
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
export type GateReportView = Static<typeof GateReportSchema>;
