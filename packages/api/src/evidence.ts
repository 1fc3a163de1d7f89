/** A release's evidence: what is sealed in the log and what is pending. */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';

export const EvidenceReleaseParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' }) },
  { additionalProperties: false },
);

export const EvidenceStatus = Type.Union([Type.Literal('sealed'), Type.Literal('pending')]);

export const EvidenceRecordSchema = Type.Object(
  {
    seq: Type.Integer(),
    digest: Type.String(),
    at: Type.String(),
    kind: Type.String(),
    rule: Type.String(),
    actor: Type.String(),
    verdict: Type.String(),
    stageIndex: Type.Union([Type.Integer(), Type.Null()]),
    status: EvidenceStatus,
  },
  { additionalProperties: false },
);
export type EvidenceRecordView = Static<typeof EvidenceRecordSchema>;

export const EvidenceCheckpointSchema = Type.Object(
  {
    name: Type.String(),
    status: Type.Union([EvidenceStatus, Type.Literal('not_reached'), Type.Literal('not_required')]),
    stageIndex: Type.Optional(Type.Integer()),
    stage: Type.Optional(Type.String()),
    gates: Type.Optional(Type.Array(Type.Unknown())),
    attestation: Type.Optional(
      Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
    ),
    outcome: Type.Optional(Type.String()),
    records: Type.Array(EvidenceRecordSchema),
  },
  { additionalProperties: false },
);
export type EvidenceCheckpointView = Static<typeof EvidenceCheckpointSchema>;

export const ReleaseEvidenceSchema = Type.Object(
  {
    release: Type.String(),
    state: Type.String(),
    pack: Type.String(),
    log: Type.Object(
      { origin: Type.String(), checkpointSize: Type.Integer() },
      { additionalProperties: false },
    ),
    sealed: Type.Boolean(),
    seal: Type.Union([
      Type.Object(
        {
          seq: Type.Integer(),
          digest: Type.String(),
          recordsDigest: Type.String(),
          count: Type.Integer(),
        },
        { additionalProperties: false },
      ),
      Type.Null(),
    ]),
    checkpoints: Type.Array(EvidenceCheckpointSchema),
    pending: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);
export type ReleaseEvidenceView = Static<typeof ReleaseEvidenceSchema>;
