/** Builds: report one with its gates, list, read. */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { GATE_STATUSES, LimitQuery, StringEnum } from './vocabulary.ts';

export const BUILD_STATUSES = ['passed', 'failed'] as const;
export type BuildStatus = (typeof BUILD_STATUSES)[number];

export const BuildId = Type.String({ minLength: 1, maxLength: 256, pattern: '^\\S+$' });

export const BuildGateSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 256 }),
    status: StringEnum(GATE_STATUSES),
    details: Type.Optional(Type.String({ maxLength: 65536 })),
  },
  { additionalProperties: false },
);
export type GateRecord = Static<typeof BuildGateSchema>;

export const BuildSourceSchema = Type.Object(
  {
    repo: Type.Optional(Type.String({ maxLength: 2048 })),
    commit: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: false },
);

export const BuildInputsSchema = Type.Record(
  Type.String({ maxLength: 256 }),
  Type.String({ maxLength: 4096 }),
  {
    maxProperties: 256,
  },
);

export const BuildRecordSchema = Type.Object(
  {
    id: Type.String(),
    status: StringEnum(BUILD_STATUSES),
    gates: Type.Array(BuildGateSchema),
    packDigest: Type.Union([Type.String(), Type.Null()]),
    source: Type.Optional(BuildSourceSchema),
    inputs: Type.Optional(BuildInputsSchema),
    reportedAt: Type.String(),
  },
  { $id: 'BuildRecord', additionalProperties: false },
);
export type BuildView = Static<typeof BuildRecordSchema>;

export const ReportBuildBody = Type.Object(
  {
    id: BuildId,
    gates: Type.Array(BuildGateSchema, { maxItems: 1000 }),
    packDigest: Type.Optional(
      Type.String({ description: 'sha256:<64 hex>; only for a passed build' }),
    ),
    source: Type.Optional(BuildSourceSchema),
    inputs: Type.Optional(BuildInputsSchema),
  },
  { additionalProperties: false },
);
export type ReportBuildBody = Static<typeof ReportBuildBody>;

export const BuildListQuery = Type.Object(
  {
    status: Type.Optional(StringEnum(BUILD_STATUSES)),
    limit: Type.Optional(LimitQuery),
  },
  { additionalProperties: false },
);
export type BuildListQuery = Static<typeof BuildListQuery>;

export const BuildIdParams = Type.Object({ id: BuildId }, { additionalProperties: false });
export type BuildIdParams = Static<typeof BuildIdParams>;

export const BuildResponse = Type.Object({ build: Type.Ref(BuildRecordSchema) });
export type BuildResponse = Static<typeof BuildResponse>;

export const BuildListResponse = Type.Object({ items: Type.Array(Type.Ref(BuildRecordSchema)) });
export type BuildListResponse = Static<typeof BuildListResponse>;
