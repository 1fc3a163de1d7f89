/** Releases: create, list, status with its reasons, operator commands, timeline. */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { DecisionRecordSchema } from './decisions.ts';
import type { ApiErrorCode } from './errors.ts';
import type { PlanView } from './plans.ts';
import {
  COMMAND_KINDS,
  Integer,
  JsonObjectOf,
  LimitQuery,
  Name,
  Reason,
  RECORD_ID_PATTERN,
  RELEASE_STATES,
  StringEnum,
  TIME_OF_DAY_PATTERN,
  WEEKDAYS,
} from './vocabulary.ts';
import type { Weekday } from './vocabulary.ts';

export const ReleaseId = Type.String({ minLength: 1, maxLength: 128, pattern: RECORD_ID_PATTERN });

/** When a release may start: not before a time, and/or inside a weekly window. */
export interface ReleaseScheduleView {
  notBefore?: string;
  window?: { days: Weekday[]; start: string; durationMinutes: number };
}

/** How a release ended. */
export interface ReleaseOutcomeView {
  at: string;
  summary: string;
  reasons: { code?: ApiErrorCode; message: string }[];
  /** for rolled_back: the pack the channel returned to (null: the rollout was cleared) */
  rollbackTo?: string | null;
}

export const CurrentStageSchema = Type.Object(
  {
    name: Type.String(),
    percent: Type.Number(),
    cohort: Type.Union([Type.String(), Type.Null()]),
    startedAt: Type.Union([Type.String(), Type.Null()]),
    soakSeconds: Type.Integer(),
  },
  { additionalProperties: false },
);
export type CurrentStageView = Static<typeof CurrentStageSchema>;

export const ReleaseSchema = Type.Object(
  {
    id: Type.String(),
    env: Type.String(),
    channel: Type.String(),
    pack: Type.String(),
    packSequence: Type.Integer(),
    basePack: Type.Union([Type.String(), Type.Null()]),
    plan: JsonObjectOf<PlanView>(),
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
    schedule: Type.Optional(JsonObjectOf<ReleaseScheduleView>()),
    pausedReason: Type.Optional(Type.String()),
    blockedBy: Type.Optional(Type.String()),
    outcome: Type.Optional(JsonObjectOf<ReleaseOutcomeView>()),
    version: Type.Integer(),
    createdAt: Type.String(),
    updatedAt: Type.String(),
    currentStage: Type.Union([CurrentStageSchema, Type.Null()]),
  },
  { $id: 'Release', additionalProperties: false },
);
export type ReleaseView = Static<typeof ReleaseSchema>;

export const CreateReleaseBody = Type.Object(
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
                start: Type.String({ pattern: TIME_OF_DAY_PATTERN }),
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
export type CreateReleaseBody = Static<typeof CreateReleaseBody>;

export const ReleaseCommandBody = Type.Object(
  {
    reason: Reason,
    full: Type.Optional(Type.Boolean({ description: 'promote only: straight to the last stage' })),
  },
  { additionalProperties: false },
);
export type ReleaseCommandBody = Static<typeof ReleaseCommandBody>;

export const ReleaseIdParams = Type.Object({ id: ReleaseId }, { additionalProperties: false });
export type ReleaseIdParams = Static<typeof ReleaseIdParams>;

export const ReleaseCommandParams = Type.Object(
  { id: ReleaseId, command: StringEnum(COMMAND_KINDS) },
  { additionalProperties: false },
);
export type ReleaseCommandParams = Static<typeof ReleaseCommandParams>;

export const ReleaseListQuery = Type.Object(
  {
    env: Type.Optional(Name),
    channel: Type.Optional(Name),
    state: Type.Optional(StringEnum(RELEASE_STATES)),
    limit: Type.Optional(LimitQuery),
  },
  { additionalProperties: false },
);
export type ReleaseListQuery = Static<typeof ReleaseListQuery>;

export const ReleaseResponse = Type.Object({ release: Type.Ref(ReleaseSchema) });
export type ReleaseResponse = Static<typeof ReleaseResponse>;

export const ReleaseListResponse = Type.Object({ items: Type.Array(Type.Ref(ReleaseSchema)) });
export type ReleaseListResponse = Static<typeof ReleaseListResponse>;

export const GATE_VERDICTS = ['pass', 'fail', 'inconclusive'] as const;

export const HealthGateResultSchema = Type.Object(
  {
    metric: Type.String(),
    verdict: StringEnum(GATE_VERDICTS),
    measured: Type.Union([Type.Number(), Type.Null()]),
    threshold: Type.Number(),
    op: Type.String(),
    targets: Type.Integer(),
    samples: Type.Number(),
    reasons: Type.Array(Type.String()),
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
export type HealthGateResultView = Static<typeof HealthGateResultSchema>;

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
    gates: Type.Array(HealthGateResultSchema),
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
export type ReleaseWhyView = Static<typeof ReleaseWhySchema>;

export const ReleaseStatusResponse = Type.Object({
  release: Type.Ref(ReleaseSchema),
  why: Type.Union([ReleaseWhySchema, Type.Null()]),
});
export type ReleaseStatusResponse = Static<typeof ReleaseStatusResponse>;

export const ReleaseTimelineResponse = Type.Object({
  items: Type.Array(Type.Ref(DecisionRecordSchema)),
});
export type ReleaseTimelineResponse = Static<typeof ReleaseTimelineResponse>;
