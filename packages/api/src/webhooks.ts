/** Webhook subscriptions and their deliveries (release and freeze events, signed). */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { LimitQuery, Name, Reason, StringEnum } from './vocabulary.ts';

/** The bodies a subscription may ask for: Lockgate's signed JSON, or a Slack-compatible text. */
export const WEBHOOK_FORMATS = ['json', 'slack'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** The events a subscription may name. */
export const WEBHOOK_EVENT_TYPES = [
  'release.requested',
  'release.stage_passed',
  'release.paused',
  'release.gate_failed',
  'release.rolled_back',
  'release.completed',
  'release.approval_needed',
  'freeze.started',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const WebhookEventTypeSchema = StringEnum([...WEBHOOK_EVENT_TYPES, '*'] as const, {
  description: 'a release or freeze event, or * for every one',
});

export const WebhookSchema = Type.Object(
  {
    name: Type.String(),
    url: Type.String(),
    format: StringEnum(WEBHOOK_FORMATS),
    events: Type.Array(Type.String()),
    createdAt: Type.String(),
    createdBy: Type.String(),
  },
  { $id: 'Webhook', additionalProperties: false },
);

export const WebhookAttemptSchema = Type.Object(
  {
    attempt: Type.Integer(),
    at: Type.String(),
    statusCode: Type.Union([Type.Integer(), Type.Null()]),
    error: Type.Union([Type.String(), Type.Null()]),
    durationMs: Type.Integer(),
  },
  { additionalProperties: false },
);

export const WebhookDeliverySchema = Type.Object(
  {
    id: Type.String(),
    eventId: Type.String({ description: 'the Lockgate-Delivery header: receivers dedupe on it' }),
    eventType: Type.String(),
    status: StringEnum(['pending', 'delivered', 'failed'] as const),
    attempts: Type.Integer(),
    nextAttemptAt: Type.Union([Type.String(), Type.Null()]),
    lastStatusCode: Type.Union([Type.Integer(), Type.Null()]),
    lastError: Type.Union([Type.String(), Type.Null()]),
    createdAt: Type.String(),
    finishedAt: Type.Union([Type.String(), Type.Null()]),
    log: Type.Array(WebhookAttemptSchema),
  },
  { $id: 'WebhookDelivery', additionalProperties: false },
);

export const AddWebhookBody = Type.Object(
  {
    name: Name,
    url: Type.String({ minLength: 8, maxLength: 2048 }),
    format: Type.Optional(StringEnum(WEBHOOK_FORMATS)),
    events: Type.Optional(Type.Array(WebhookEventTypeSchema, { minItems: 1, maxItems: 16 })),
    secret: Type.Optional(Type.String({ minLength: 16, maxLength: 256 })),
  },
  { additionalProperties: false },
);

export const WebhookNameParams = Type.Object({ name: Name }, { additionalProperties: false });
export const WebhookReasonBody = Type.Object({ reason: Reason }, { additionalProperties: false });
export const WebhookDeliveryQuery = Type.Object(
  { limit: Type.Optional(LimitQuery) },
  { additionalProperties: false },
);

export const WebhookResponse = Type.Object({ webhook: Type.Ref(WebhookSchema) });

export type WebhookView = Static<typeof WebhookSchema>;
export type WebhookDeliveryView = Static<typeof WebhookDeliverySchema>;
export type AddWebhookBody = Static<typeof AddWebhookBody>;
export type WebhookResponse = Static<typeof WebhookResponse>;
