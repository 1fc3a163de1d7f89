/** Environments and their freeze windows. */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { ChannelSchema } from './channels.ts';
import { Integer, Name, Reason, StringEnum, TIME_OF_DAY_PATTERN, WEEKDAYS } from './vocabulary.ts';

export const EnvironmentSchema = Type.Object(
  {
    name: Type.String(),
    description: Type.String(),
    createdAt: Type.String(),
  },
  { $id: 'Environment', additionalProperties: false },
);
export type EnvironmentView = Static<typeof EnvironmentSchema>;

export const FREEZE_KINDS = ['once', 'weekly'] as const;

export const FreezeWindowSchema = Type.Object(
  {
    id: Type.String(),
    env: Type.String(),
    reason: Type.String(),
    kind: StringEnum(FREEZE_KINDS),
    start: Type.String({ description: 'once: RFC 3339 time; weekly: HH:MM UTC' }),
    end: Type.Optional(Type.String({ description: 'once only' })),
    days: Type.Optional(Type.Array(Type.String(), { description: 'weekly only' })),
    durationMinutes: Type.Optional(Type.Integer({ description: 'weekly only' })),
    createdAt: Type.String(),
    createdBy: Type.String(),
  },
  { $id: 'FreezeWindow', additionalProperties: false },
);
export type FreezeWindowView = Static<typeof FreezeWindowSchema>;

export const EnvironmentParams = Type.Object({ env: Name }, { additionalProperties: false });
export type EnvironmentParams = Static<typeof EnvironmentParams>;

export const FreezeWindowParams = Type.Object(
  { env: Name, id: Type.String({ minLength: 1, maxLength: 128 }) },
  { additionalProperties: false },
);
export type FreezeWindowParams = Static<typeof FreezeWindowParams>;

export const PutEnvironmentBody = Type.Object(
  { description: Type.Optional(Type.String({ maxLength: 1024 })) },
  { additionalProperties: false },
);
export type PutEnvironmentBody = Static<typeof PutEnvironmentBody>;

export const AddFreezeWindowBody = Type.Union([
  Type.Object(
    {
      reason: Reason,
      kind: Type.Literal('once'),
      start: Type.String({ maxLength: 64 }),
      end: Type.String({ maxLength: 64 }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      reason: Reason,
      kind: Type.Literal('weekly'),
      days: Type.Array(StringEnum(WEEKDAYS), { minItems: 1, maxItems: 7 }),
      start: Type.String({ pattern: TIME_OF_DAY_PATTERN }),
      durationMinutes: Integer({ minimum: 1, maximum: 10080 }),
    },
    { additionalProperties: false },
  ),
]);
export type AddFreezeWindowBody = Static<typeof AddFreezeWindowBody>;

export const EnvironmentResponse = Type.Object({ environment: Type.Ref(EnvironmentSchema) });
export type EnvironmentResponse = Static<typeof EnvironmentResponse>;

export const EnvironmentListResponse = Type.Object({
  items: Type.Array(Type.Ref(EnvironmentSchema)),
});
export type EnvironmentListResponse = Static<typeof EnvironmentListResponse>;

export const EnvironmentDetailResponse = Type.Object({
  environment: Type.Ref(EnvironmentSchema),
  channels: Type.Array(Type.Ref(ChannelSchema)),
  freezeWindows: Type.Array(Type.Ref(FreezeWindowSchema)),
});
export type EnvironmentDetailResponse = Static<typeof EnvironmentDetailResponse>;

export const FreezeWindowResponse = Type.Object({ freezeWindow: Type.Ref(FreezeWindowSchema) });
export type FreezeWindowResponse = Static<typeof FreezeWindowResponse>;
