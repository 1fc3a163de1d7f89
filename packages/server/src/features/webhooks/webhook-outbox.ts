/**
 * The outbox side of webhooks: inside the transaction that appends decision records, the record
 * step writes one delivery per (subscription, event) the records announce. It writes rows and
 * nothing else (no network), so a decision never waits on a receiver; the worker posts them.
 */
import { randomUUID } from 'node:crypto';
import type { DecisionRecord } from '../decisions/public.ts';
import { eventPayload } from './webhook-body.ts';
import { webhookEventsOf } from './webhook-events.ts';
import type { StoredDelivery, StoredWebhook } from './webhook-store.ts';

/** Whether a subscription wants an event type (`*` is every type). */
export function subscribedTo(webhook: Pick<StoredWebhook, 'events'>, type: string): boolean {
  return webhook.events.includes('*') || webhook.events.includes(type);
}

/**
 * The deliveries the records announce: one per (subscription, event), for the caller to write
 * with the records (`WebhookStore.enqueueParts`) in the same transaction.
 */
export function webhookDeliveriesOf(
  webhooks: readonly StoredWebhook[],
  records: readonly DecisionRecord[],
): StoredDelivery[] {
  const events = records.flatMap(webhookEventsOf);
  const deliveries: StoredDelivery[] = [];
  for (const event of events) {
    const payloadJson = JSON.stringify(eventPayload(event));
    for (const webhook of webhooks) {
      if (!subscribedTo(webhook, event.type)) continue;
      deliveries.push({
        id: `whd_${randomUUID()}`,
        subscriptionId: webhook.id,
        eventId: event.id,
        eventType: event.type,
        payloadJson,
        status: 'pending',
        attempts: 0,
        nextAttemptAt: event.record.at,
        lastStatusCode: null,
        lastError: null,
        createdAt: event.record.at,
        finishedAt: null,
      });
    }
  }
  return deliveries;
}
