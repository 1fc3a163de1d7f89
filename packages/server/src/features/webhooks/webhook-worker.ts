/**
 * Posts queued webhook deliveries. It runs on its own timer, outside every decision
 * transaction: a slow or dead receiver delays only its own deliveries, never a decision.
 *
 * A delivery is claimed (a lease on its row) before it is posted, so replicas never post it
 * at once; a worker that dies mid-post leaves a claim that lapses and the delivery is tried
 * again (at-least-once: receivers deduplicate on `Lockgate-Delivery`, the event id). A 2xx
 * answer delivers it; anything else (status, timeout, refused connection) is an attempt in the
 * log and a retry after `retryDelayMs(attempts)` until `maxAttempts`, then it is failed.
 * Each attempt is signed at its own time, so a retry hours later still passes the tolerance.
 */
import type { Clock } from '../../clock.ts';
import { bodyOf } from './webhook-body.ts';
import type { WebhookPayload } from './webhook-body.ts';
import {
  DELIVERY_HEADER,
  EVENT_HEADER,
  SIGNATURE_HEADER,
  signatureHeader,
} from './webhook-signature.ts';
import type { DeliveryOutcome, DueDelivery, WebhookStore } from './webhook-store.ts';

export interface WebhookWorkerOptions {
  stores: { readonly webhooks: WebhookStore };
  clock: Clock;
  fetch?: typeof fetch;
  /** how often due deliveries are looked for (default 1000 ms) */
  pollIntervalMs?: number;
  /** the first retry's delay; each next one doubles (default 2000 ms) */
  retryBaseMs?: number;
  /** the longest delay between attempts (default 15 min) */
  retryMaxMs?: number;
  /** attempts before a delivery is failed (default 10) */
  maxAttempts?: number;
  /** one post's bound, connect to answer (default 10 s) */
  timeoutMs?: number;
  /** deliveries claimed per round (default 20) */
  batchSize?: number;
  onError?: (error: unknown) => void;
}

export interface WebhookWorker {
  start(): void;
  /** Stops the timer and waits for the round in progress. */
  stop(): Promise<void>;
  /** Looks for due deliveries soon (debounced). */
  wake(): void;
  /** One round: claims and posts due deliveries; resolves with how many it attempted. */
  runOnce(): Promise<number>;
  /** Claims and posts one delivery now, due or not; false when another worker holds it. */
  deliverNow(id: string): Promise<boolean>;
}

export const DEFAULT_WEBHOOK_RETRY = {
  pollIntervalMs: 1000,
  retryBaseMs: 2000,
  retryMaxMs: 15 * 60_000,
  maxAttempts: 10,
  timeoutMs: 10_000,
  batchSize: 20,
} as const;

/** The delay before the attempt after `attempts` failed ones: base·2^(attempts−1), capped. */
export function retryDelayMs(attempts: number, baseMs: number, maxMs: number): number {
  if (attempts < 1) return 0;
  return Math.min(maxMs, baseMs * 2 ** Math.min(attempts - 1, 40));
}

/** The longest error text kept in the log. */
const MAX_ERROR_LENGTH = 500;

export function createWebhookWorker(options: WebhookWorkerOptions): WebhookWorker {
  const { stores, clock } = options;
  const post = options.fetch ?? globalThis.fetch;
  const settings = { ...DEFAULT_WEBHOOK_RETRY, ...definedOf(options) };
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<number> | null = null;
  let stopped = true;

  const attempt = async (due: DueDelivery): Promise<void> => {
    const { delivery, webhook } = due;
    const payload = JSON.parse(delivery.payloadJson) as WebhookPayload;
    const body = bodyOf(payload, webhook.format);
    const started = clock();
    const timestamp = Math.floor(started.getTime() / 1000);
    let statusCode: number | null = null;
    let error: string | null = null;
    const wallStart = performance.now();
    try {
      const response = await post(webhook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'lockgate-webhook/1',
          [EVENT_HEADER]: delivery.eventType,
          [DELIVERY_HEADER]: delivery.eventId,
          [SIGNATURE_HEADER]: signatureHeader(webhook.secret, timestamp, body),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(settings.timeoutMs),
      });
      statusCode = response.status;
      // Read (and drop) the answer so the connection is reused; bounded by the same timeout.
      await response.arrayBuffer().catch(() => undefined);
      if (statusCode < 200 || statusCode > 299) error = `HTTP ${statusCode}`;
    } catch (cause) {
      error = errorText(cause);
    }
    const durationMs = Math.round(performance.now() - wallStart);
    const attempts = delivery.attempts + 1;
    const at = clock();
    const outcome: DeliveryOutcome =
      error === null
        ? {
            status: 'delivered',
            attempts,
            nextAttemptAt: delivery.nextAttemptAt,
            lastStatusCode: statusCode,
            lastError: null,
            finishedAt: at.toISOString(),
          }
        : {
            status: attempts >= settings.maxAttempts ? 'failed' : 'pending',
            attempts,
            nextAttemptAt: new Date(
              at.getTime() + retryDelayMs(attempts, settings.retryBaseMs, settings.retryMaxMs),
            ).toISOString(),
            lastStatusCode: statusCode,
            lastError: error,
            finishedAt: attempts >= settings.maxAttempts ? at.toISOString() : null,
          };
    await stores.webhooks.recordAttempt(
      {
        deliveryId: delivery.id,
        attempt: attempts,
        at: started.toISOString(),
        statusCode,
        error,
        durationMs,
      },
      outcome,
    );
  };

  const claimUntil = (now: Date): string =>
    new Date(now.getTime() + settings.timeoutMs + 30_000).toISOString();

  const round = async (): Promise<number> => {
    const now = clock();
    const due = await stores.webhooks.claimDue(
      now.toISOString(),
      claimUntil(now),
      settings.batchSize,
    );
    await Promise.all(due.map((one) => attempt(one).catch((error) => options.onError?.(error))));
    return due.length;
  };

  const runOnce = (): Promise<number> => {
    running ??= round().finally(() => {
      running = null;
    });
    return running;
  };

  const schedule = (ms: number): void => {
    if (stopped) return;
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      runOnce()
        .then((count) => schedule(count === settings.batchSize ? 0 : settings.pollIntervalMs))
        .catch((error: unknown) => {
          options.onError?.(error);
          schedule(settings.pollIntervalMs);
        });
    }, ms);
    timer.unref();
  };

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      schedule(0);
    },
    async stop() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      await running?.catch(() => undefined);
    },
    wake() {
      if (!stopped && timer !== null) schedule(50);
    },
    runOnce,
    async deliverNow(id) {
      const now = clock();
      const due = await stores.webhooks.claim(id, now.toISOString(), claimUntil(now));
      if (due === null) return false;
      await attempt(due);
      return true;
    },
  };
}

function definedOf(options: WebhookWorkerOptions): Partial<typeof DEFAULT_WEBHOOK_RETRY> {
  const out: Record<string, number> = {};
  for (const key of Object.keys(DEFAULT_WEBHOOK_RETRY) as (keyof typeof DEFAULT_WEBHOOK_RETRY)[]) {
    const value = options[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

function errorText(error: unknown): string {
  let current: unknown = error;
  const parts: string[] = [];
  for (let depth = 0; depth < 4 && current instanceof Error; depth += 1) {
    const code = (current as Error & { code?: unknown }).code;
    parts.push(typeof code === 'string' ? `${current.message} (${code})` : current.message);
    current = current.cause;
  }
  const text = parts.length === 0 ? String(error) : parts.join(': ');
  return text.slice(0, MAX_ERROR_LENGTH);
}
