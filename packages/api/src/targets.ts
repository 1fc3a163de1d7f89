/** Targets: registration, reports, what each should run. */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import {
  BoundedNumber,
  DigestString,
  LimitQuery,
  Name,
  StringEnum,
  StringMap,
  TARGET_ID_PATTERN,
} from './vocabulary.ts';

export const TargetId = Type.String({
  pattern: TARGET_ID_PATTERN,
  description: 'A stable target id: letters, digits, . _ : -, up to 255.',
});

export const ATTEMPT_KINDS = ['activate', 'revert', 'verify'] as const;
export const ATTEMPT_RESULTS = ['ok', 'failed'] as const;

export const TargetAttemptSchema = Type.Object(
  {
    kind: StringEnum(ATTEMPT_KINDS),
    pack: DigestString,
    result: StringEnum(ATTEMPT_RESULTS),
    code: Type.Optional(Type.String({ maxLength: 128 })),
    at: Type.String({ maxLength: 64 }),
  },
  { additionalProperties: false },
);
export type TargetAttemptView = Static<typeof TargetAttemptSchema>;

export const TargetSchema = Type.Object(
  {
    id: Type.String(),
    env: Type.String(),
    channel: Type.String(),
    labels: Type.Record(Type.String(), Type.String()),
    capabilities: Type.Record(Type.String(), Type.String()),
    activePack: Type.Union([Type.String(), Type.Null()]),
    lastReportAt: Type.Union([Type.String(), Type.Null()]),
    lastAttempt: Type.Union([TargetAttemptSchema, Type.Null()]),
    registeredAt: Type.String(),
  },
  { $id: 'Target', additionalProperties: false },
);
export type TargetView = Static<typeof TargetSchema>;

export const TargetIdParams = Type.Object({ id: TargetId }, { additionalProperties: false });
export type TargetIdParams = Static<typeof TargetIdParams>;

export const RegisterTargetBody = Type.Object(
  {
    env: Name,
    channel: Name,
    labels: StringMap,
    capabilities: Type.Optional(StringMap),
  },
  { additionalProperties: false },
);
export type RegisterTargetBody = Static<typeof RegisterTargetBody>;

const Count = BoundedNumber({ minimum: 0 });

export const TargetReportBody = Type.Object(
  {
    activePack: Type.Union([DigestString, Type.Null()]),
    lastAttempt: Type.Optional(TargetAttemptSchema),
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
export type TargetReportBody = Static<typeof TargetReportBody>;

export const TargetReportResponse = Type.Object({ accepted: Type.Literal(true) });
export type TargetReportResponse = Static<typeof TargetReportResponse>;

/** Reports per `POST /reports` at most: one group commit's worth (the server's batch size). */
export const MAX_REPORTS_PER_REQUEST = 500;

export const TargetReportsBody = Type.Object(
  {
    reports: Type.Array(
      Type.Object(
        { target: TargetId, ...TargetReportBody.properties },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: MAX_REPORTS_PER_REQUEST },
    ),
  },
  { additionalProperties: false },
);
export type TargetReportsBody = Static<typeof TargetReportsBody>;

export const TargetReportsResponse = Type.Object({
  accepted: Type.Integer({ minimum: 1, description: 'reports stored, all of the request' }),
});
export type TargetReportsResponse = Static<typeof TargetReportsResponse>;

export const TargetListQuery = Type.Object(
  {
    env: Type.Optional(Name),
    channel: Type.Optional(Name),
    after: Type.Optional(
      Type.String({ maxLength: 255, description: 'targets with an id after this one (paging)' }),
    ),
    limit: Type.Optional(LimitQuery),
  },
  { additionalProperties: false },
);
export type TargetListQuery = Static<typeof TargetListQuery>;

export const TargetResponse = Type.Object({ target: Type.Ref(TargetSchema) });
export type TargetResponse = Static<typeof TargetResponse>;

export const TargetListResponse = Type.Object({ items: Type.Array(Type.Ref(TargetSchema)) });
export type TargetListResponse = Static<typeof TargetListResponse>;

export const DESIRED_REASONS = ['pin', 'rollout', 'base', 'none'] as const;

export const DesiredPackResponse = Type.Object({
  pack: Type.Union([Type.String(), Type.Null()]),
  reason: StringEnum(DESIRED_REASONS),
  indexVersion: Type.Integer(),
});
export type DesiredPackResponse = Static<typeof DesiredPackResponse>;
