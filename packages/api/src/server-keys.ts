/** The server's own public keys. */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';

export const ServerKeySchema = Type.Object(
  { keyId: Type.String(), publicKeyPem: Type.String(), use: Type.String() },
  { additionalProperties: false },
);
export type ServerKeyView = Static<typeof ServerKeySchema>;

export const ServerKeyListResponse = Type.Object({ items: Type.Array(ServerKeySchema) });
export type ServerKeyListResponse = Static<typeof ServerKeyListResponse>;
