/**
 * Replays: re-run every decision of a release on the current core and compare digests
 * (docs/replay.md). A request is answered when the replay has run (it runs in the request).
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { LimitQuery, Reason, StringEnum } from './vocabulary.ts';

export const REPLAY_STATUSES = ['completed', 'failed'] as const;
export type ReplayStatus = (typeof REPLAY_STATUSES)[number];

export const REPLAY_PROBLEMS = [
  'field',
  'context_missing',
  'refused',
  'decision_missing',
  'decision_extra',
] as const;
export type ReplayProblem = (typeof REPLAY_PROBLEMS)[number];

export const CreateReplayBody = Type.Object({ reason: Reason }, { additionalProperties: false });
export type CreateReplayBody = Static<typeof CreateReplayBody>;

export const ReplayListQuery = Type.Object(
  { limit: Type.Optional(LimitQuery) },
  { additionalProperties: false },
);
export type ReplayListQuery = Static<typeof ReplayListQuery>;

export const ReplayMismatchSchema = Type.Object(
  {
    seq: Type.Integer({ description: "the record's place in the decision log" }),
    recordId: Type.String(),
    rule: Type.String(),
    problem: StringEnum(REPLAY_PROBLEMS, {
      description:
        'field: the replayed draft differs (see field); context_missing: no context is stored ' +
        'under the digest the record names; refused: the current core refused the call (actual ' +
        'is its code and message); decision_missing / decision_extra: the replay returned fewer ' +
        '/ more drafts than were recorded (counts in expected and actual)',
    }),
    field: Type.Union([Type.String(), Type.Null()], {
      description:
        'the path into the draft of the first differing field, e.g. inputs.gates[0].threshold',
    }),
    expected: Type.Optional(Type.Unknown({ description: 'the recorded value' })),
    actual: Type.Optional(Type.Unknown({ description: 'the replayed value' })),
    recordedBy: Type.Union([Type.String(), Type.Null()], {
      description: 'the core version recorded with the decision',
    }),
    contextIntact: Type.Union([Type.Boolean(), Type.Null()], {
      description:
        'false when the stored context no longer hashes to the digest the record names (edited)',
    }),
  },
  { additionalProperties: false },
);
export type ReplayMismatchView = Static<typeof ReplayMismatchSchema>;

export const ReplaySkippedSchema = Type.Object(
  { seq: Type.Integer(), rule: Type.String(), why: Type.String() },
  { additionalProperties: false },
);

export const ReplaySchema = Type.Object(
  {
    id: Type.String(),
    release: Type.String(),
    requester: Type.String(),
    reason: Type.String(),
    status: StringEnum(REPLAY_STATUSES, {
      description: 'completed: every decision was re-run; failed: the replay could not run (error)',
    }),
    coreVersion: Type.String({ description: 'the core that replayed' }),
    createdAt: Type.String(),
    finishedAt: Type.Union([Type.String(), Type.Null()]),
    total: Type.Integer({ description: 'decisions re-run' }),
    matching: Type.Integer(),
    mismatches: Type.Integer(),
    matchRate: Type.Number({ description: 'matching / total; 1 when there was nothing to replay' }),
    mismatched: Type.Array(ReplayMismatchSchema),
    skipped: Type.Array(ReplaySkippedSchema, {
      description: 'records of the release that are not core decisions with a stored context',
    }),
    error: Type.Union([Type.String(), Type.Null()]),
  },
  { $id: 'Replay', additionalProperties: false },
);
export type ReplayView = Static<typeof ReplaySchema>;

export const ReplayResponse = Type.Object({ replay: Type.Ref(ReplaySchema) });
export type ReplayResponse = Static<typeof ReplayResponse>;

export const ReplayListResponse = Type.Object({ items: Type.Array(Type.Ref(ReplaySchema)) });
export type ReplayListResponse = Static<typeof ReplayListResponse>;
