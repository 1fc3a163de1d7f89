import {
  errorResponses,
  limitOf,
  AddWebhookBody,
  WebhookDeliveryQuery,
  WebhookNameParams,
  WebhookReasonBody,
  WebhookDeliverySchema,
  WebhookResponse,
  WebhookSchema,
} from '@lockgate/api';
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../../http/auth.ts';
import { ADMIN } from '../../http/route-roles.ts';
import type { WebhookService } from './webhook-service.ts';

/** Webhook subscriptions: admin only (they hold signing secrets and reach out of the server). */
export function webhookRoutes(app: FastifyInstance, options: { webhooks: WebhookService }): void {
  const { webhooks } = options;

  app.post<{ Body: Static<typeof AddWebhookBody> }>(
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
        body: AddWebhookBody,
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

  app.delete<{ Params: Static<typeof WebhookNameParams>; Body: Static<typeof WebhookReasonBody> }>(
    '/webhooks/:name',
    {
      config: { roles: ADMIN },
      schema: {
        summary: 'Remove a webhook subscription and its delivery log (admin only)',
        tags: ['webhooks'],
        params: WebhookNameParams,
        body: WebhookReasonBody,
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

  app.post<{ Params: Static<typeof WebhookNameParams> }>(
    '/webhooks/:name/test',
    {
      config: { roles: ADMIN },
      schema: {
        summary: 'Send a signed test event now (admin only)',
        description:
          'Posts a `webhook.test` event at once and answers with the delivery and its first ' +
          'attempt. A failed test is retried like any delivery.',
        tags: ['webhooks'],
        params: WebhookNameParams,
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

  app.get<{
    Params: Static<typeof WebhookNameParams>;
    Querystring: Static<typeof WebhookDeliveryQuery>;
  }>(
    '/webhooks/:name/deliveries',
    {
      config: { roles: ADMIN },
      schema: {
        summary: 'The delivery log of a subscription, newest first (admin only)',
        tags: ['webhooks'],
        params: WebhookNameParams,
        querystring: WebhookDeliveryQuery,
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
