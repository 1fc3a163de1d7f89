/** The transparency log: entries, proofs, checkpoints and witness cosignatures. */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';

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
