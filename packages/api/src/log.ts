/** The transparency log: entries, proofs, checkpoints and witness cosignatures. */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { LimitQuery } from './vocabulary.ts';

export const LogCount = Type.String({
  pattern: '^[1-9][0-9]{0,15}$',
  description: 'a positive integer',
});

export const LogEnvelopeSchema = Type.Object(
  {
    payload: Type.String(),
    payloadType: Type.String(),
    signatures: Type.Array(
      Type.Object({ keyid: Type.String(), sig: Type.String() }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
);

export const Base64List = Type.Array(Type.String());

/** GET /log/key */
export const LogKeySchema = Type.Object(
  {
    origin: Type.String(),
    verifierKey: Type.String(),
    keyId: Type.String(),
    publicKeyPem: Type.String(),
  },
  { additionalProperties: false },
);
export type LogKeyView = Static<typeof LogKeySchema>;

/** GET /log/checkpoint: the note as text/plain */
export const LogCheckpointNoteSchema = Type.String();

export const LogEntryParams = Type.Object({ seq: LogCount }, { additionalProperties: false });
export type LogEntryParams = Static<typeof LogEntryParams>;

/** GET /log/entries/{seq} */
export const LogEntrySchema = Type.Object(
  {
    seq: Type.Integer(),
    leafIndex: Type.Integer(),
    leafHash: Type.String(),
    envelope: LogEnvelopeSchema,
  },
  { additionalProperties: false },
);
export type LogEntryView = Static<typeof LogEntrySchema>;

export const InclusionQuery = Type.Object(
  { seq: LogCount, size: Type.Optional(LogCount) },
  { additionalProperties: false },
);
export type InclusionQuery = Static<typeof InclusionQuery>;

/** GET /log/proofs/inclusion */
export const InclusionProofSchema = Type.Object(
  {
    seq: Type.Integer(),
    leafIndex: Type.Integer(),
    treeSize: Type.Integer(),
    leafHash: Type.String(),
    rootHash: Type.String(),
    proof: Base64List,
  },
  { additionalProperties: false },
);
export type InclusionProofView = Static<typeof InclusionProofSchema>;

export const ConsistencyQuery = Type.Object(
  { from: LogCount, to: LogCount },
  { additionalProperties: false },
);
export type ConsistencyQuery = Static<typeof ConsistencyQuery>;

/** GET /log/proofs/consistency */
export const ConsistencyProofSchema = Type.Object(
  { from: Type.Integer(), to: Type.Integer(), proof: Base64List },
  { additionalProperties: false },
);
export type ConsistencyProofView = Static<typeof ConsistencyProofSchema>;

export const CheckpointsQuery = Type.Object(
  {
    after: Type.Optional(Type.String({ pattern: '^(0|[1-9][0-9]{0,15})$' })),
    limit: Type.Optional(LimitQuery),
  },
  { additionalProperties: false },
);
export type CheckpointsQuery = Static<typeof CheckpointsQuery>;

/** GET /log/checkpoints */
export const CheckpointListSchema = Type.Object({
  items: Type.Array(
    Type.Object(
      { size: Type.Integer(), note: Type.String(), createdAt: Type.String() },
      { additionalProperties: false },
    ),
  ),
});
export type CheckpointListView = Static<typeof CheckpointListSchema>;

/** POST /log/cosignatures */
export const CosignatureBody = Type.Object(
  {
    checkpoint: Type.String({ minLength: 1, maxLength: 4096, description: 'the cosigned body' }),
    cosignature: Type.String({ minLength: 1, maxLength: 1024, description: 'one note line' }),
  },
  { additionalProperties: false },
);
export type CosignatureBody = Static<typeof CosignatureBody>;

export const CosignatureAcceptedSchema = Type.Object(
  { size: Type.Integer(), witness: Type.String() },
  { additionalProperties: false },
);
export type CosignatureAcceptedView = Static<typeof CosignatureAcceptedSchema>;
