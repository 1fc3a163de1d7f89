/** Trusted build keys. */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';

export const TrustedKeySchema = Type.Object(
  {
    keyId: Type.String({ description: 'hex sha256 of the SPKI DER encoding' }),
    name: Type.String(),
    publicKeyPem: Type.String(),
    addedAt: Type.String(),
  },
  { $id: 'TrustedKey', additionalProperties: false },
);
export type TrustedKeyView = Static<typeof TrustedKeySchema>;

export const AddTrustedKeyBody = Type.Object(
  {
    publicKeyPem: Type.String({ minLength: 1, maxLength: 16384, description: 'Ed25519 SPKI PEM' }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  },
  { additionalProperties: false },
);
export type AddTrustedKeyBody = Static<typeof AddTrustedKeyBody>;

export const TrustedKeyParams = Type.Object(
  { keyId: Type.String({ minLength: 1, maxLength: 256 }) },
  { additionalProperties: false },
);
export type TrustedKeyParams = Static<typeof TrustedKeyParams>;

export const TrustedKeyResponse = Type.Object({ key: Type.Ref(TrustedKeySchema) });
export type TrustedKeyResponse = Static<typeof TrustedKeyResponse>;

export const TrustedKeyListResponse = Type.Object({
  items: Type.Array(Type.Ref(TrustedKeySchema)),
});
export type TrustedKeyListResponse = Static<typeof TrustedKeyListResponse>;
