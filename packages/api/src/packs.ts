/** Packs: push, list, manifest, download, revoke. */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { JsonObjectOf, LimitQuery, Reason } from './vocabulary.ts';

/** Content types a pack upload may carry; anything else is 415. */
export const PACK_MEDIA_TYPES = [
  'application/octet-stream',
  'application/gzip',
  'application/x-tar',
];

export const PackSummarySchema = Type.Object(
  {
    digest: Type.String(),
    name: Type.String(),
    version: Type.String(),
    sequence: Type.Integer(),
    size: Type.Integer({ description: 'Bytes of the stored pack file.' }),
    buildId: Type.String(),
    createdAt: Type.String({ description: 'provenance.createdAt' }),
    pushedAt: Type.String({ description: 'When the server stored the pack.' }),
  },
  { $id: 'PackSummary', additionalProperties: false },
);
export type PackSummary = Static<typeof PackSummarySchema>;

/** `POST /packs`: the pack file's bytes (checked by the server, documented here). */
export const PushPackBody = Type.String({ format: 'binary' });

/** `POST /packs` answers the stored pack: 201 when stored, 200 when it already was. */
export const PushPackResponse = Type.Ref(PackSummarySchema);

export const PackListQuery = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    limit: Type.Optional(LimitQuery),
  },
  { additionalProperties: false },
);
export type PackListQuery = Static<typeof PackListQuery>;

export const PackListResponse = Type.Object({ items: Type.Array(Type.Ref(PackSummarySchema)) });
export type PackListResponse = Static<typeof PackListResponse>;

export const PackRefParams = Type.Object({ ref: Type.String() }, { additionalProperties: false });
export type PackRefParams = Static<typeof PackRefParams>;

/** A pack manifest as `GET /packs/{ref}/manifest` answers it (core `PackManifest`, lockgate.pack/v1). */
export interface PackManifestView {
  schema: string;
  name: string;
  version: string;
  sequence: number;
  files: { path: string; sha256: string; size: number; role?: string }[];
  requires: Record<string, string>;
  provenance: {
    buildId: string;
    createdAt: string;
    source?: { repo?: string; commit?: string };
    inputs?: Record<string, string>;
    gates: { name: string; status: string; details?: string }[];
  };
  signatures: { keyId: string; alg: string; sig: string }[];
}

export const PackManifestResponse = Type.Object({
  pack: Type.Ref(PackSummarySchema),
  manifest: JsonObjectOf<PackManifestView>(),
});
export type PackManifestResponse = Static<typeof PackManifestResponse>;

export const PackDigestParams = Type.Object(
  { digest: Type.String({ description: 'sha256:<64 hex>' }) },
  { additionalProperties: false },
);
export type PackDigestParams = Static<typeof PackDigestParams>;

/** `POST /packs/{digest}/revoke` */
export const RevokePackParams = Type.Object(
  { digest: Type.String({ description: 'the pack digest, sha256:<64 hex>' }) },
  { additionalProperties: false },
);
export type RevokePackParams = Static<typeof RevokePackParams>;

export const RevokePackBody = Type.Object({ reason: Reason }, { additionalProperties: false });
export type RevokePackBody = Static<typeof RevokePackBody>;

export const RevokePackResponse = Type.Object({ revoked: Type.String() });
export type RevokePackResponse = Static<typeof RevokePackResponse>;

export const RevocationSchema = Type.Object(
  { pack: Type.String(), reason: Type.String(), actor: Type.String(), revokedAt: Type.String() },
  { additionalProperties: false },
);
export type RevocationView = Static<typeof RevocationSchema>;

export const RevocationListResponse = Type.Object({ items: Type.Array(RevocationSchema) });
export type RevocationListResponse = Static<typeof RevocationListResponse>;
