/** Stop the line: freeze every environment now, lift, and the error budget policy. */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { BoundedNumber, Name, Reason, StringEnum } from './vocabulary.ts';

export const ActiveFreezeSchema = Type.Object(
  {
    env: Type.String(),
    id: Type.String(),
    reason: Type.String(),
    from: Type.String(),
    until: Type.String(),
    source: StringEnum(['stop-the-line', 'error-budget', 'window'] as const),
    createdBy: Type.String(),
  },
  { additionalProperties: false },
);

export const FreezeEnvs = Type.Array(Name, {
  minItems: 1,
  maxItems: 256,
  description: 'the environments; every environment when absent',
});

export const StopTheLineBody = Type.Object(
  {
    reason: Reason,
    envs: Type.Optional(FreezeEnvs),
    until: Type.Optional(
      Type.String({ maxLength: 64, description: 'RFC 3339; default: until lifted' }),
    ),
  },
  { additionalProperties: false },
);

export const LiftFreezeBody = Type.Object(
  { reason: Reason, envs: Type.Optional(FreezeEnvs) },
  { additionalProperties: false },
);

export const ErrorBudgetBody = Type.Object(
  {
    env: Name,
    slo: Type.String({ minLength: 1, maxLength: 128 }),
    objective: BoundedNumber({ exclusiveMinimum: 0, exclusiveMaximum: 1, minimum: 0, maximum: 1 }),
    good: BoundedNumber({ minimum: 0 }),
    total: BoundedNumber({ minimum: 0 }),
    window: Type.String({ minLength: 1, maxLength: 32 }),
    source: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);

export const ActiveFreezeListResponse = Type.Object({ items: Type.Array(ActiveFreezeSchema) });

export type ActiveFreezeView = Static<typeof ActiveFreezeSchema>;
export type StopTheLineBody = Static<typeof StopTheLineBody>;
export type LiftFreezeBody = Static<typeof LiftFreezeBody>;
export type ErrorBudgetBody = Static<typeof ErrorBudgetBody>;
export type ActiveFreezeListResponse = Static<typeof ActiveFreezeListResponse>;
