import type { Kysely, Selectable } from 'kysely';
import type {
  Database,
  WebhookAttemptsTable,
  WebhookDeliveriesTable,
  WebhookSubscriptionsTable,
} from '../../db/schema.ts';
import { readOne } from '../../db/statement-parts.ts';
import type { ReadPart, WritePart } from '../../db/statement-parts.ts';
import type { WebhookFormat } from '@lockgate/api';

export interface StoredWebhook {
  id: string;
  name: string;
  url: string;
  format: WebhookFormat;
  events: string[];
  secret: string;
  createdAt: string;
  createdBy: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface StoredDelivery {
  id: string;
  subscriptionId: string;
  eventId: string;
  eventType: string;
  payloadJson: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: string;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  finishedAt: string | null;
}

export interface WebhookAttempt {
  deliveryId: string;
  attempt: number;
  at: string;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

/** A claimed delivery with what the worker needs to post it. */
export interface DueDelivery {
  delivery: StoredDelivery;
  webhook: StoredWebhook;
}

/** What a finished attempt leaves on its delivery. */
export interface DeliveryOutcome {
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: string;
  lastStatusCode: number | null;
  lastError: string | null;
  finishedAt: string | null;
}

export interface WebhookStore {
  /** Inserts unless the name is taken; false when nothing was inserted. */
  insert(webhook: StoredWebhook): Promise<boolean>;
  find(name: string): Promise<StoredWebhook | null>;
  /** By name. */
  list(): Promise<StoredWebhook[]>;
  /** `list` as a part of a read (`Statements.read`). */
  listPart(): ReadPart<StoredWebhook[]>;
  /** Removes the subscription with its deliveries and attempts; false when absent. */
  delete(name: string): Promise<boolean>;
  /** Queues deliveries; one already queued for the same (subscription, event) is kept as is. */
  enqueue(deliveries: readonly StoredDelivery[]): Promise<void>;
  /** `enqueue` as parts of a write (`Statements.write`; none for no deliveries). */
  enqueueParts(deliveries: readonly StoredDelivery[]): WritePart[];
  /**
   * Claims up to `limit` pending deliveries due at `now` that no worker holds, until `until`,
   * oldest due first. A row is claimed by one conditional update, so two workers (replicas)
   * never claim the same row at once.
   */
  claimDue(now: string, until: string, limit: number): Promise<DueDelivery[]>;
  /** Claims one pending delivery that no worker holds, whether due or not; null otherwise. */
  claim(id: string, now: string, until: string): Promise<DueDelivery | null>;
  /** Appends the attempt to the log and sets the delivery's outcome (releasing the claim). */
  recordAttempt(attempt: WebhookAttempt, outcome: DeliveryOutcome): Promise<void>;
  /** A subscription's deliveries, newest first. */
  listDeliveries(subscriptionId: string, limit: number): Promise<StoredDelivery[]>;
  /** The attempts of these deliveries, by delivery then attempt. */
  listAttempts(deliveryIds: readonly string[]): Promise<WebhookAttempt[]>;
  findDelivery(id: string): Promise<StoredDelivery | null>;
}

/** 13 values a row: SQLite binds at most 32,766 a statement, so stay well below. */
const DELIVERIES_PER_INSERT = 1000;

export function createWebhookStore(db: Kysely<Database>): WebhookStore {
  const listPart = (): ReadPart<StoredWebhook[]> => ({
    query: db.selectFrom('webhook_subscriptions').selectAll().orderBy('name'),
    decode: (rows) =>
      rows.map((row) => webhookFromRow(row as Selectable<WebhookSubscriptionsTable>)),
  });

  const enqueueParts = (deliveries: readonly StoredDelivery[]): WritePart[] => {
    const parts: WritePart[] = [];
    for (let i = 0; i < deliveries.length; i += DELIVERIES_PER_INSERT) {
      parts.push(
        db
          .insertInto('webhook_deliveries')
          .values(
            deliveries.slice(i, i + DELIVERIES_PER_INSERT).map((delivery) => ({
              id: delivery.id,
              subscription_id: delivery.subscriptionId,
              event_id: delivery.eventId,
              event_type: delivery.eventType,
              payload_json: delivery.payloadJson,
              status: delivery.status,
              attempts: delivery.attempts,
              next_attempt_at: delivery.nextAttemptAt,
              claimed_until: null,
              last_status_code: delivery.lastStatusCode,
              last_error: delivery.lastError,
              created_at: delivery.createdAt,
              finished_at: delivery.finishedAt,
            })),
          )
          .onConflict((conflict) => conflict.columns(['subscription_id', 'event_id']).doNothing()),
      );
    }
    return parts;
  };

  return {
    async insert(webhook) {
      const result = await db
        .insertInto('webhook_subscriptions')
        .values({
          id: webhook.id,
          name: webhook.name,
          url: webhook.url,
          format: webhook.format,
          events_json: JSON.stringify(webhook.events),
          secret: webhook.secret,
          created_at: webhook.createdAt,
          created_by: webhook.createdBy,
        })
        .onConflict((conflict) => conflict.column('name').doNothing())
        .executeTakeFirst();
      return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
    },

    async find(name) {
      const row = await db
        .selectFrom('webhook_subscriptions')
        .selectAll()
        .where('name', '=', name)
        .executeTakeFirst();
      return row === undefined ? null : webhookFromRow(row);
    },

    list() {
      return readOne(db, listPart());
    },

    listPart,

    async delete(name) {
      const found = await db
        .selectFrom('webhook_subscriptions')
        .select('id')
        .where('name', '=', name)
        .executeTakeFirst();
      if (found === undefined) return false;
      // Children first: the cascade is declared, but this does not depend on it being enforced.
      await db
        .deleteFrom('webhook_attempts')
        .where('delivery_id', 'in', (eb) =>
          eb.selectFrom('webhook_deliveries').select('id').where('subscription_id', '=', found.id),
        )
        .execute();
      await db.deleteFrom('webhook_deliveries').where('subscription_id', '=', found.id).execute();
      const result = await db
        .deleteFrom('webhook_subscriptions')
        .where('id', '=', found.id)
        .executeTakeFirst();
      return result.numDeletedRows > 0n;
    },

    async enqueue(deliveries) {
      for (const part of enqueueParts(deliveries)) await db.executeQuery(part.compile());
    },

    enqueueParts,

    async claimDue(now, until, limit) {
      const candidates = await db
        .selectFrom('webhook_deliveries')
        .select('id')
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', now)
        .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<=', now)]))
        .orderBy('next_attempt_at')
        .orderBy('id')
        .limit(limit)
        .execute();
      const claimed: DueDelivery[] = [];
      for (const { id } of candidates) {
        const due = await claimOne(db, id, now, until);
        if (due !== null) claimed.push(due);
      }
      return claimed;
    },

    claim: (id, now, until) => claimOne(db, id, now, until),

    async recordAttempt(attempt, outcome) {
      await db
        .insertInto('webhook_attempts')
        .values({
          delivery_id: attempt.deliveryId,
          attempt: attempt.attempt,
          at: attempt.at,
          status_code: attempt.statusCode,
          error: attempt.error,
          duration_ms: attempt.durationMs,
        })
        .onConflict((conflict) => conflict.columns(['delivery_id', 'attempt']).doNothing())
        .execute();
      await db
        .updateTable('webhook_deliveries')
        .set({
          status: outcome.status,
          attempts: outcome.attempts,
          next_attempt_at: outcome.nextAttemptAt,
          claimed_until: null,
          last_status_code: outcome.lastStatusCode,
          last_error: outcome.lastError,
          finished_at: outcome.finishedAt,
        })
        .where('id', '=', attempt.deliveryId)
        .execute();
    },

    async listDeliveries(subscriptionId, limit) {
      const rows = await db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('subscription_id', '=', subscriptionId)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return rows.map(deliveryFromRow);
    },

    async listAttempts(deliveryIds) {
      if (deliveryIds.length === 0) return [];
      const rows = await db
        .selectFrom('webhook_attempts')
        .selectAll()
        .where('delivery_id', 'in', [...deliveryIds])
        .orderBy('delivery_id')
        .orderBy('attempt')
        .execute();
      return rows.map(attemptFromRow);
    },

    async findDelivery(id) {
      const row = await db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      return row === undefined ? null : deliveryFromRow(row);
    },
  };
}

async function claimOne(
  db: Kysely<Database>,
  id: string,
  now: string,
  until: string,
): Promise<DueDelivery | null> {
  const result = await db
    .updateTable('webhook_deliveries')
    .set({ claimed_until: until })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<=', now)]))
    .executeTakeFirst();
  if (result.numUpdatedRows === 0n) return null;
  const row = await db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_subscriptions as s', 's.id', 'd.subscription_id')
    .selectAll('d')
    .select([
      's.name as s_name',
      's.url as s_url',
      's.format as s_format',
      's.events_json as s_events_json',
      's.secret as s_secret',
      's.created_at as s_created_at',
      's.created_by as s_created_by',
    ])
    .where('d.id', '=', id)
    .executeTakeFirst();
  if (row === undefined) return null;
  return {
    delivery: deliveryFromRow(row),
    webhook: webhookFromRow({
      id: row.subscription_id,
      name: row.s_name,
      url: row.s_url,
      format: row.s_format,
      events_json: row.s_events_json,
      secret: row.s_secret,
      created_at: row.s_created_at,
      created_by: row.s_created_by,
    }),
  };
}

function webhookFromRow(row: Selectable<WebhookSubscriptionsTable>): StoredWebhook {
  return {
    id: row.id,
    name: row.name,
    url: row.url,
    format: row.format as WebhookFormat,
    events: JSON.parse(row.events_json) as string[],
    secret: row.secret,
    createdAt: row.created_at,
    createdBy: row.created_by,
  };
}

function deliveryFromRow(row: Selectable<WebhookDeliveriesTable>): StoredDelivery {
  return {
    id: row.id,
    subscriptionId: row.subscription_id,
    eventId: row.event_id,
    eventType: row.event_type,
    payloadJson: row.payload_json,
    status: row.status as DeliveryStatus,
    attempts: Number(row.attempts),
    nextAttemptAt: row.next_attempt_at,
    lastStatusCode: row.last_status_code === null ? null : Number(row.last_status_code),
    lastError: row.last_error,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
  };
}

function attemptFromRow(row: Selectable<WebhookAttemptsTable>): WebhookAttempt {
  return {
    deliveryId: row.delivery_id,
    attempt: Number(row.attempt),
    at: row.at,
    statusCode: row.status_code === null ? null : Number(row.status_code),
    error: row.error,
    durationMs: Number(row.duration_ms),
  };
}
