import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import { eventually } from '../helpers/server-process.ts';
import { createTestApp } from '../helpers/test-app.ts';
import type { TestApp } from '../helpers/test-app.ts';
import { DIALECTS } from '../helpers/test-database.ts';
import { startWebhookReceiver } from './webhook-receiver.ts';
import type { WebhookReceiver } from './webhook-receiver.ts';

const sqlite = DIALECTS[0];
if (sqlite === undefined) throw new Error('no SQLite dialect');

interface Delivery {
  eventType: string;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  log: { attempt: number; statusCode: number | null; error: string | null }[];
}

describe('webhook delivery to a local receiver', () => {
  let t: TestApp;
  let receiver: WebhookReceiver;

  const call = async <T = Record<string, unknown>>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    payload?: unknown,
  ): Promise<{ status: number; body: T }> => {
    const response = await t.app.inject({
      method,
      url: `/api/v1${url}`,
      headers: t.auth,
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    });
    return { status: response.statusCode, body: response.json<T>() };
  };

  const subscribe = async (name: string, extra: Record<string, unknown> = {}): Promise<string> => {
    const added = await call<{ secret: string }>('POST', '/webhooks', {
      name,
      url: `${receiver.url}/${name}`,
      ...extra,
    });
    expect(added.status).toBe(201);
    receiver.setSecret(added.body.secret);
    return added.body.secret;
  };

  /** A freeze window in effect now: a `freeze.started` event. */
  const freezeNow = async (reason: string): Promise<void> => {
    const now = Date.now();
    const created = await call('POST', '/environments/prod-eu/freeze-windows', {
      reason,
      kind: 'once',
      start: new Date(now - 60_000).toISOString(),
      end: new Date(now + 3_600_000).toISOString(),
    });
    expect(created.status).toBe(201);
  };

  const deliveries = async (name: string): Promise<Delivery[]> =>
    (await call<{ items: Delivery[] }>('GET', `/webhooks/${name}/deliveries`)).body.items;

  beforeEach(async () => {
    receiver = await startWebhookReceiver();
    t = await createTestApp(
      sqlite,
      {},
      {
        clock: systemClock,
        webhooks: { pollIntervalMs: 20, retryBaseMs: 20, retryMaxMs: 200, timeoutMs: 2000 },
      },
    );
    expect((await call('PUT', '/environments/prod-eu', {})).status).toBe(201);
  });

  afterEach(async () => {
    await t.close();
    await receiver.close();
  });

  it('posts a signed event the receiver verifies, with the decision it announces', async () => {
    await subscribe('ops');
    t.services.webhooks.worker.start();
    await freezeNow('incident 42');
    const post = await eventually('the freeze.started post', 10_000, async () =>
      Promise.resolve(receiver.posts.find((p) => p.headers['lockgate-event'] === 'freeze.started')),
    );
    expect(post.check).toMatchObject({ ok: true });
    expect(post.path).toBe('/ops');
    const body = JSON.parse(post.body) as Record<string, unknown>;
    expect(body).toMatchObject({
      schema: 'lockgate.webhook/v1',
      type: 'freeze.started',
      env: 'prod-eu',
      decision: { kind: 'freeze', rule: 'freeze.created' },
    });
    expect(post.headers['lockgate-delivery']).toBe(body['id']);
    const decisions = await call<{ items: { seq: number; digest: string }[] }>('GET', '/decisions');
    const announced = body['decision'] as { seq: number; digest: string };
    expect(decisions.body.items.find((d) => d.seq === announced.seq)?.digest).toBe(
      announced.digest,
    );
  });

  it('retries after 500 answers with backoff and logs every attempt', async () => {
    await subscribe('ops');
    receiver.answerWith(500, 500);
    t.services.webhooks.worker.start();
    await freezeNow('incident 43');
    const [delivered] = await eventually('the delivery to succeed', 10_000, async () => {
      const items = await deliveries('ops');
      return items.some((d) => d.status === 'delivered') ? items : null;
    });
    expect(delivered).toMatchObject({
      eventType: 'freeze.started',
      status: 'delivered',
      attempts: 3,
      lastStatusCode: 204,
    });
    expect(delivered?.log.map((a) => [a.attempt, a.statusCode])).toEqual([
      [1, 500],
      [2, 500],
      [3, 204],
    ]);
    expect(receiver.posts.map((p) => p.status)).toEqual([500, 500, 204]);
    // Every attempt is signed anew and carries the same delivery id for deduplication.
    expect(new Set(receiver.posts.map((p) => p.headers['lockgate-delivery'])).size).toBe(1);
    expect(receiver.posts.every((p) => p.check.ok)).toBe(true);
  });

  it('fails a delivery after the last attempt and keeps why', async () => {
    t = await (async () => {
      await t.close();
      return createTestApp(
        sqlite,
        {},
        {
          clock: systemClock,
          webhooks: { pollIntervalMs: 20, retryBaseMs: 10, retryMaxMs: 20, maxAttempts: 3 },
        },
      );
    })();
    expect((await call('PUT', '/environments/prod-eu', {})).status).toBe(201);
    await subscribe('ops');
    receiver.answerWith(503, 503, 503, 503);
    t.services.webhooks.worker.start();
    await freezeNow('incident 44');
    const [failed] = await eventually('the delivery to fail', 10_000, async () => {
      const items = await deliveries('ops');
      return items.some((d) => d.status === 'failed') ? items : null;
    });
    expect(failed).toMatchObject({ status: 'failed', attempts: 3, lastStatusCode: 503 });
    expect(failed?.log.map((a) => a.error)).toEqual(['HTTP 503', 'HTTP 503', 'HTTP 503']);
  });

  it('is refused by the receiver when the secret differs, and the refusal is logged', async () => {
    await subscribe('ops');
    receiver.setSecret('whsec_not-the-subscription-secret');
    const tested = await call<{ delivery: Delivery }>('POST', '/webhooks/ops/test');
    expect(tested.status).toBe(200);
    expect(tested.body.delivery).toMatchObject({
      eventType: 'webhook.test',
      status: 'pending',
      attempts: 1,
      lastStatusCode: 401,
    });
    expect(receiver.posts[0]?.check).toEqual({ ok: false, problem: 'mismatch' });
  });

  it('sends a Slack-compatible body to a slack subscription, signed the same way', async () => {
    await subscribe('chat', { format: 'slack', events: ['freeze.started'] });
    const tested = await call<{ delivery: Delivery }>('POST', '/webhooks/chat/test');
    expect(tested.body.delivery).toMatchObject({ status: 'delivered', lastStatusCode: 204 });
    const body = JSON.parse(receiver.posts[0]?.body ?? '{}') as Record<string, unknown>;
    expect(typeof body['text']).toBe('string');
    expect(body['text']).toContain('Test delivery to webhook chat');
    expect(Array.isArray(body['blocks'])).toBe(true);
    expect(receiver.posts[0]?.check.ok).toBe(true);
  });

  it('commits decisions while a receiver holds every request open', async () => {
    await subscribe('ops');
    receiver.hang(true);
    t.services.webhooks.worker.start();
    await freezeNow('first');
    await eventually('a held request', 10_000, async () =>
      Promise.resolve(receiver.held() > 0 ? true : null),
    );
    await freezeNow('second');
    await freezeNow('third');
    expect(receiver.held()).toBeGreaterThan(0);
    const freezes = await call<{ items: { rule: string }[] }>('GET', '/decisions');
    expect(freezes.body.items.filter((d) => d.rule === 'freeze.created')).toHaveLength(3);
    const queued = await deliveries('ops');
    expect(queued.map((d) => d.eventType)).toEqual([
      'freeze.started',
      'freeze.started',
      'freeze.started',
    ]);
    receiver.hang(false);
  });

  it('subscribes only to events it names and refuses unknown ones', async () => {
    const refused = await call<{ code: string }>('POST', '/webhooks', {
      name: 'bad',
      url: `${receiver.url}/bad`,
      events: ['release.exploded'],
    });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('VALIDATION_FAILED');
    await subscribe('rollbacks', { events: ['release.rolled_back'] });
    await freezeNow('not a rollback');
    expect(await deliveries('rollbacks')).toEqual([]);
  });

  it('lets only admin tokens manage webhooks', async () => {
    const created = await call<{ secret: string }>('POST', '/tokens', {
      name: 'ops-person',
      role: 'operator',
    });
    const answer = await t.app.inject({
      method: 'GET',
      url: '/api/v1/webhooks',
      headers: { authorization: `Bearer ${created.body.secret}` },
    });
    expect(answer.statusCode).toBe(403);
  });

  it('lists and removes subscriptions without showing their secrets', async () => {
    const secret = await subscribe('ops');
    const listed = await call<{ items: Record<string, unknown>[] }>('GET', '/webhooks');
    expect(listed.body.items.map((w) => w['name'])).toEqual(['ops']);
    expect(JSON.stringify(listed.body)).not.toContain(secret);
    const removed = await call('DELETE', '/webhooks/ops', { reason: 'moved to the new pager' });
    expect(removed.status).toBe(200);
    const again = await call<{ code: string }>('DELETE', '/webhooks/ops', { reason: 'again' });
    expect(again.body.code).toBe('WEBHOOK_NOT_FOUND');
  });
});
