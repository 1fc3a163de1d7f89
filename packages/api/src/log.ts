/** The transparency log: entries, proofs, checkpoints and witness cosignatures. */
import { Type } from '@sinclair/typebox';

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
