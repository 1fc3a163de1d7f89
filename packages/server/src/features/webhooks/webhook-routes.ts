import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../../http/auth.ts';
import { ADMIN } from '../../http/route-roles.ts';
import {
  errorResponses,
  LimitQuery,
  limitOf,
  Name,
  Reason,
  StringEnum,
} from '../../http/schemas.ts';
import { WEBHOOK_FORMATS } from './webhook-body.ts';
import { WEBHOOK_EVENT_TYPES } from './webhook-events.ts';
import type { WebhookService } from './webhook-service.ts';

const EventType = StringEnum([...WEBHOOK_EVENT_TYPES, '*'] as const, {
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

const AttemptSchema = Type.Object(
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
    log: Type.Array(AttemptSchema),
  },
  { $id: 'WebhookDelivery', additionalProperties: false },
);

const AddBody = Type.Object(
  {
    name: Name,
    url: Type.String({ minLength: 8, maxLength: 2048 }),
    format: Type.Optional(StringEnum(WEBHOOK_FORMATS)),
    events: Type.Optional(Type.Array(EventType, { minItems: 1, maxItems: 16 })),
    secret: Type.Optional(Type.String({ minLength: 16, maxLength: 256 })),
  },
  { additionalProperties: false },
);

const NameParams = Type.Object({ name: Name }, { additionalProperties: false });
const ReasonBody = Type.Object({ reason: Reason }, { additionalProperties: false });
const LimitQueryObject = Type.Object(
  { limit: Type.Optional(LimitQuery) },
  { additionalProperties: false },
);

const WebhookResponse = Type.Object({ webhook: Type.Ref(WebhookSchema) });

/** Webhook subscriptions: admin only (they hold signing secrets and reach out of the server). */
export function webhookRoutes(app: FastifyInstance, options: { webhooks: WebhookService }): void {
  const { webhooks } = options;

  app.post<{ Body: Static<typeof AddBody> }>(
    '/webhooks',
    {
      config: { roles: ADMIN },
      schema: {
        summary: 'Subscribe a URL to release events (admin only)',
        description:
          'Every event the subscription names is posted to the URL, signed with HMAC-SHA256 ' +
          '(`Lockgate-Signature: t=<unix seconds>,v1=<hex of HMAC(secret, "<t>.<body>")>`). ' +
          'The secret is in this answer only (generated unless given). `format: slack` posts a ' +
          'Slack incoming-webhook body. Deliveries are retried with exponential backoff.',
        tags: ['webhooks'],
        body: AddBody,
        response: {
          201: Type.Object({ webhook: Type.Ref(WebhookSchema), secret: Type.String() }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const added = await webhooks.add(request.body, actorOf(request).name);
      return reply.code(201).send(added);
    },
  );

  app.get(
    '/webhooks',
    {
      config: { roles: ADMIN },
      schema: {
        summary: 'List webhook subscriptions (admin only)',
        tags: ['webhooks'],
        response: {
          200: Type.Object({ items: Type.Array(Type.Ref(WebhookSchema)) }),
          ...errorResponses,
        },
      },
    },
    async () => ({ items: await webhooks.list() }),
  );

  app.delete<{ Params: Static<typeof NameParams>; Body: Static<typeof ReasonBody> }>(
    '/webhooks/:name',
    {
      config: { roles: ADMIN },
      schema: {
        summary: 'Remove a webhook subscription and its delivery log (admin only)',
        tags: ['webhooks'],
        params: NameParams,
        body: ReasonBody,
        response: { 200: WebhookResponse, ...errorResponses },
      },
    },
    async (request) => ({
      webhook: await webhooks.remove(
        request.params.name,
        request.body.reason,
        actorOf(request).name,
      ),
    }),
  );

  app.post<{ Params: Static<typeof NameParams> }>(
    '/webhooks/:name/test',
    {
      config: { roles: ADMIN },
      schema: {
        summary: 'Send a signed test event now (admin only)',
        description:
          'Posts a `webhook.test` event at once and answers with the delivery and its first ' +
          'attempt. A failed test is retried like any delivery.',
        tags: ['webhooks'],
        params: NameParams,
        response: {
          200: Type.Object({ delivery: Type.Ref(WebhookDeliverySchema) }),
          ...errorResponses,
        },
      },
    },
    async (request) => ({
      delivery: await webhooks.test(request.params.name, actorOf(request).name),
    }),
  );

  app.get<{ Params: Static<typeof NameParams>; Querystring: Static<typeof LimitQueryObject> }>(
    '/webhooks/:name/deliveries',
    {
      config: { roles: ADMIN },
      schema: {
        summary: 'The delivery log of a subscription, newest first (admin only)',
        tags: ['webhooks'],
        params: NameParams,
        querystring: LimitQueryObject,
        response: {
          200: Type.Object({ items: Type.Array(Type.Ref(WebhookDeliverySchema)) }),
          ...errorResponses,
        },
      },
    },
    async (request) => ({
      items: await webhooks.deliveries(request.params.name, limitOf(request.query.limit)),
    }),
  );
}
