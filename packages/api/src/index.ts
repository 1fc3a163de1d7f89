/**
 * `@lockgate/api`: the HTTP contract of Lockgate. The TypeBox schema of every request and
 * response with its TypeScript type, and the shared vocabulary (names, ids, roles, durations,
 * times, weekdays, error codes with their HTTP status). The server validates and documents with
 * these schemas (its OpenAPI document is generated from them); the CLI and the console type
 * their requests and answers with them.
 */
import { BuildRecordSchema } from './builds.ts';
import { ChannelSchema, PinSchema, RollbackAuthorizationSchema } from './channels.ts';
import { DecisionRecordSchema } from './decisions.ts';
import { EnvironmentSchema, FreezeWindowSchema } from './environments.ts';
import { ErrorSchema } from './errors.ts';
import { WebhookDeliverySchema, WebhookSchema } from './webhooks.ts';
import { PackSummarySchema } from './packs.ts';
import { PlanSchema } from './plans.ts';
import { ReleaseSchema } from './releases.ts';
import { ReplaySchema } from './replays.ts';
import { TargetSchema } from './targets.ts';
import { TokenSchema } from './tokens.ts';
import { TrustedKeySchema } from './trust.ts';

export * from './vocabulary.ts';
export * from './errors.ts';
export * from './time.ts';
export * from './packs.ts';
export * from './builds.ts';
export * from './trust.ts';
export * from './tokens.ts';
export * from './environments.ts';
export * from './channels.ts';
export * from './plans.ts';
export * from './targets.ts';
export * from './releases.ts';
export * from './decisions.ts';
export * from './replays.ts';
export * from './server-keys.ts';
export * from './health.ts';
export * from './webhooks.ts';
export * from './freezes.ts';
export * from './console.ts';
export * from './log.ts';
export * from './evidence.ts';
export * from './rollback-preview.ts';

/**
 * The schemas other schemas refer to by `$id` (`Type.Ref`): a server registers each once
 * (Fastify `addSchema`); the OpenAPI document lists them as components.
 */
export const SHARED_SCHEMAS = [
  ErrorSchema,
  PackSummarySchema,
  BuildRecordSchema,
  TrustedKeySchema,
  TokenSchema,
  EnvironmentSchema,
  FreezeWindowSchema,
  PinSchema,
  RollbackAuthorizationSchema,
  ChannelSchema,
  PlanSchema,
  TargetSchema,
  ReleaseSchema,
  DecisionRecordSchema,
  ReplaySchema,
  WebhookSchema,
  WebhookDeliverySchema,
] as const;
