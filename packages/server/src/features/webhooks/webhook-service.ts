import { randomBytes, randomUUID } from 'node:crypto';
import { LockgateError } from '@lockgate/core';
import type { Clock } from '../../clock.ts';
import type { StoresOf } from '../../stores.ts';
import { recordDecisions } from '../decisions/public.ts';
import type { DecisionRecordDraft } from '../decisions/public.ts';
import { WEBHOOK_SCHEMA } from './webhook-body.ts';
import type { WebhookFormat } from '@lockgate/api';
import type { WebhookPayload } from './webhook-body.ts';
import { WEBHOOK_EVENT_TYPES } from '@lockgate/api';
import { WEBHOOK_TEST_EVENT } from './webhook-events.ts';
import type { StoredDelivery, StoredWebhook, WebhookAttempt } from './webhook-store.ts';
import { createWebhookWorker } from './webhook-worker.ts';
import type { WebhookWorker, WebhookWorkerOptions } from './webhook-worker.ts';

/** The stores this module uses, and no others. */
type UsedStores = StoresOf<
  'contexts' | 'decisions' | 'log' | 'serverKeys' | 'webhooks' | 'statements'
>;

export interface WebhookView {
  name: string;
  url: string;
  format: WebhookFormat;
  events: string[];
  createdAt: string;
  createdBy: string;
}

export interface DeliveryView {
  id: string;
  eventId: string;
  eventType: string;
  status: StoredDelivery['status'];
  attempts: number;
  nextAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  finishedAt: string | null;
  log: Omit<WebhookAttempt, 'deliveryId'>[];
}

export interface AddWebhookInput {
  name: string;
  url: string;
  format?: WebhookFormat;
  /** event types, or `*`; default every type */
  events?: string[];
  /** the signing secret; generated when absent */
  secret?: string;
}

export interface WebhookService {
  /** Adds a subscription; the secret is returned here and never again. */
  add(input: AddWebhookInput, actor: string): Promise<{ webhook: WebhookView; secret: string }>;
  list(): Promise<WebhookView[]>;
  remove(name: string, reason: string, actor: string): Promise<WebhookView>;
  /** Queues a `webhook.test` event for the subscription and posts it at once. */
  test(name: string, actor: string): Promise<DeliveryView>;
  /** The delivery log: newest deliveries first, each with its attempts. */
  deliveries(name: string, limit: number): Promise<DeliveryView[]>;
  /** The worker posting queued deliveries (started by the server, not by tests that tick). */
  readonly worker: WebhookWorker;
}

export const MIN_SECRET_LENGTH = 16;

export function createWebhookService(deps: {
  stores: UsedStores;
  clock: Clock;
  worker?: Omit<WebhookWorkerOptions, 'stores' | 'clock'>;
}): WebhookService {
  const { stores, clock } = deps;
  const worker = createWebhookWorker({ stores, clock, ...deps.worker });

  const findOrThrow = async (name: string): Promise<StoredWebhook> => {
    const webhook = await stores.webhooks.find(name);
    if (webhook === null) {
      throw new LockgateError('WEBHOOK_NOT_FOUND', `No webhook subscription is named ${name}.`, {
        details: { name },
      });
    }
    return webhook;
  };

  const deliveryViews = async (deliveries: StoredDelivery[]): Promise<DeliveryView[]> => {
    const attempts = await stores.webhooks.listAttempts(deliveries.map((d) => d.id));
    return deliveries.map((delivery) => ({
      id: delivery.id,
      eventId: delivery.eventId,
      eventType: delivery.eventType,
      status: delivery.status,
      attempts: delivery.attempts,
      nextAttemptAt: delivery.status === 'pending' ? delivery.nextAttemptAt : null,
      lastStatusCode: delivery.lastStatusCode,
      lastError: delivery.lastError,
      createdAt: delivery.createdAt,
      finishedAt: delivery.finishedAt,
      log: attempts
        .filter((attempt) => attempt.deliveryId === delivery.id)
        .map(({ deliveryId: _id, ...rest }) => rest),
    }));
  };

  return {
    worker,

    async add(input, actor) {
      const url = checkUrl(input.url);
      const events = checkEvents(input.events ?? ['*']);
      const secret = input.secret ?? `whsec_${randomBytes(32).toString('base64url')}`;
      if (secret.length < MIN_SECRET_LENGTH || /\s/.test(secret)) {
        throw new LockgateError(
          'VALIDATION_FAILED',
          `A webhook secret needs at least ${MIN_SECRET_LENGTH} characters without whitespace.`,
          { details: { problems: ['secret is too short'] } },
        );
      }
      const webhook: StoredWebhook = {
        id: `whk_${randomUUID()}`,
        name: input.name,
        url,
        format: input.format ?? 'json',
        events,
        secret,
        createdAt: clock().toISOString(),
        createdBy: actor,
      };
      const added = await stores.transaction(async (tx) => {
        if (!(await tx.webhooks.insert(webhook))) return false;
        await recordDecisions(tx, [
          webhookDecision(webhook, 'webhook.added', actor, null, webhook.createdAt),
        ]);
        return true;
      });
      if (!added) {
        throw new LockgateError('CONFLICT', `A webhook subscription named ${input.name} exists.`, {
          details: { name: input.name },
        });
      }
      return { webhook: viewOf(webhook), secret };
    },

    async list() {
      return (await stores.webhooks.list()).map(viewOf);
    },

    async remove(name, reason, actor) {
      const removed = await stores.transaction(async (tx) => {
        const webhook = await tx.webhooks.find(name);
        if (webhook === null || !(await tx.webhooks.delete(name))) return null;
        await recordDecisions(tx, [
          webhookDecision(webhook, 'webhook.removed', actor, reason, clock().toISOString()),
        ]);
        return webhook;
      });
      if (removed === null) await findOrThrow(name);
      return viewOf(removed as StoredWebhook);
    },

    async test(name, actor) {
      const webhook = await findOrThrow(name);
      const at = clock().toISOString();
      const eventId = `test_${randomUUID()}`;
      const payload: WebhookPayload = {
        schema: WEBHOOK_SCHEMA,
        id: eventId,
        type: WEBHOOK_TEST_EVENT,
        at,
        env: null,
        channel: null,
        release: null,
        summary: `Test delivery to webhook ${name}, sent by ${actor}`,
        decision: null,
      };
      const delivery: StoredDelivery = {
        id: `whd_${randomUUID()}`,
        subscriptionId: webhook.id,
        eventId,
        eventType: WEBHOOK_TEST_EVENT,
        payloadJson: JSON.stringify(payload),
        status: 'pending',
        attempts: 0,
        nextAttemptAt: at,
        lastStatusCode: null,
        lastError: null,
        createdAt: at,
        finishedAt: null,
      };
      await stores.webhooks.enqueue([delivery]);
      await worker.deliverNow(delivery.id);
      const stored = await stores.webhooks.findDelivery(delivery.id);
      const [view] = await deliveryViews(stored === null ? [] : [stored]);
      if (view === undefined) throw new LockgateError('INTERNAL', 'The test delivery vanished.');
      return view;
    },

    async deliveries(name, limit) {
      const webhook = await findOrThrow(name);
      return deliveryViews(await stores.webhooks.listDeliveries(webhook.id, limit));
    },
  };
}

function viewOf(webhook: StoredWebhook): WebhookView {
  return {
    name: webhook.name,
    url: webhook.url,
    format: webhook.format,
    events: webhook.events,
    createdAt: webhook.createdAt,
    createdBy: webhook.createdBy,
  };
}

function checkUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid(`The webhook URL ${JSON.stringify(raw)} is not a URL.`, 'url is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid('A webhook URL must be http:// or https://.', 'url must be http or https');
  }
  if (url.username !== '' || url.password !== '') {
    throw invalid(
      'A webhook URL must not carry credentials; receivers check the signature instead.',
      'url must not carry credentials',
    );
  }
  return url.toString();
}

function checkEvents(events: readonly string[]): string[] {
  const known = new Set<string>([...WEBHOOK_EVENT_TYPES, '*']);
  const unknown = events.filter((event) => !known.has(event));
  if (events.length === 0 || unknown.length > 0) {
    throw invalid(
      `Webhook events must be some of ${[...WEBHOOK_EVENT_TYPES].join(', ')} or *` +
        (unknown.length === 0 ? '.' : `, not ${unknown.join(', ')}.`),
      'events are unknown',
    );
  }
  return [...new Set(events)];
}

function invalid(message: string, problem: string): LockgateError {
  return new LockgateError('VALIDATION_FAILED', message, { details: { problems: [problem] } });
}

/** The record of a subscription change: the receiver's origin only (a URL path can be a secret). */
function webhookDecision(
  webhook: StoredWebhook,
  rule: string,
  actor: string,
  reason: string | null,
  at: string,
): DecisionRecordDraft {
  return {
    release: null,
    env: null,
    channel: null,
    at,
    kind: 'webhook',
    rule,
    actor,
    reason,
    from: null,
    to: null,
    stageIndex: null,
    inputs: {
      name: webhook.name,
      origin: new URL(webhook.url).origin,
      format: webhook.format,
      events: webhook.events,
    },
    verdict: rule === 'webhook.added' ? 'added' : 'removed',
    holder: null,
  };
}
