import { afterEach, expect, it } from 'vitest';
import type { DecisionRecord } from '../../src/features/decisions/decision-store.ts';
import { createServices } from '../../src/services.ts';
import { eventually } from '../helpers/server-process.ts';
import { createTestApp, manualClock } from '../helpers/test-app.ts';
import type { ManualClock, TestApp } from '../helpers/test-app.ts';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';
import { startWebhookReceiver } from './webhook-receiver.ts';
import type { WebhookReceiver } from './webhook-receiver.ts';

const MINUTE = 60_000;

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'a scheduled freeze window that begins', () => {
    let t: TestApp | null = null;
    let receiver: WebhookReceiver | null = null;
    let clock: ManualClock;
    /** real time when the test began: the receiver checks signatures against its own clock */
    let realNow: number;

    const call = async <T = Record<string, unknown>>(
      method: 'GET' | 'POST' | 'PUT',
      url: string,
      payload?: unknown,
    ): Promise<{ status: number; body: T }> => {
      if (t === null) throw new Error('no app');
      const response = await t.app.inject({
        method,
        url: `/api/v1${url}`,
        headers: t.auth,
        ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
      });
      return { status: response.statusCode, body: response.json<T>() };
    };

    const windowStarts = async (): Promise<DecisionRecord[]> =>
      (await call<{ items: DecisionRecord[] }>('GET', '/decisions?limit=1000')).body.items.filter(
        (d) => d.rule === 'freeze.window_started',
      );

    afterEach(async () => {
      await t?.close();
      await receiver?.close();
      t = null;
      receiver = null;
    });

    it('announces freeze.started once when the window begins, to a receiver that verifies it', async () => {
      realNow = Date.now();
      // the window is made 20 minutes before it begins
      clock = manualClock(new Date(realNow - 20 * MINUTE).toISOString());
      receiver = await startWebhookReceiver();
      t = await createTestApp(
        dialect,
        {},
        {
          clock: clock.clock,
          webhooks: { pollIntervalMs: 20, retryBaseMs: 20, retryMaxMs: 200, timeoutMs: 2000 },
        },
      );
      expect((await call('PUT', '/environments/prod-eu', {})).status).toBe(201);
      const added = await call<{ secret: string }>('POST', '/webhooks', {
        name: 'ops',
        url: `${receiver.url}/ops`,
        events: ['freeze.started'],
      });
      expect(added.status).toBe(201);
      receiver.setSecret(added.body.secret);
      const made = await call<{ freezeWindow: { id: string } }>(
        'POST',
        '/environments/prod-eu/freeze-windows',
        {
          reason: 'quarterly maintenance',
          kind: 'once',
          start: new Date(realNow - 5 * MINUTE).toISOString(),
          end: new Date(realNow + 60 * MINUTE).toISOString(),
        },
      );
      expect(made.status).toBe(201);

      // before it begins: nothing to announce
      await t.services.operations.runOnce();
      expect(await windowStarts()).toEqual([]);

      // it began five minutes ago; two servers on the same database both look, twice
      clock.set(new Date(realNow).toISOString());
      const other = createServices(t.config, t.stores, t.blobs, clock.clock);
      try {
        await Promise.all([t.services.operations.runOnce(), other.operations.runOnce()]);
        await Promise.all([t.services.operations.runOnce(), other.operations.runOnce()]);
      } finally {
        await other.close();
      }
      const starts = await windowStarts();
      expect(starts).toHaveLength(1);
      expect(starts[0]).toMatchObject({
        env: 'prod-eu',
        kind: 'freeze',
        actor: 'lockgate',
        verdict: 'frozen',
        inputs: {
          freezeWindow: { id: made.body.freezeWindow.id },
          occurrence: { from: new Date(realNow - 5 * MINUTE).toISOString() },
        },
      });

      t.services.webhooks.worker.start();
      const post = await eventually('the freeze.started post', 10_000, async () =>
        Promise.resolve(
          receiver?.posts.find((p) => p.headers['lockgate-event'] === 'freeze.started'),
        ),
      );
      expect(post.check).toMatchObject({ ok: true });
      expect(JSON.parse(post.body)).toMatchObject({
        type: 'freeze.started',
        env: 'prod-eu',
        decision: { kind: 'freeze', rule: 'freeze.window_started', seq: starts[0]?.seq },
      });
      await t.services.webhooks.worker.stop();
      const deliveries = await call<{ items: { eventType: string }[] }>(
        'GET',
        '/webhooks/ops/deliveries',
      );
      expect(deliveries.body.items.map((d) => d.eventType)).toEqual(['freeze.started']);
    });

    it('announces each occurrence of a weekly window, and not one in effect when it was made', async () => {
      realNow = Date.now();
      clock = manualClock('2026-06-01T09:30:00.000Z'); // a Monday
      t = await createTestApp(dialect, {}, { clock: clock.clock });
      expect((await call('PUT', '/environments/prod-eu', {})).status).toBe(201);
      const made = await call('POST', '/environments/prod-eu/freeze-windows', {
        reason: 'Monday morning change board',
        kind: 'weekly',
        days: ['mon'],
        start: '09:00',
        durationMinutes: 120,
      });
      expect(made.status).toBe(201);
      // in effect when made: the record that made it announced it (freeze.created)
      await t.services.operations.runOnce();
      expect(await windowStarts()).toEqual([]);

      clock.set('2026-06-08T09:01:00.000Z');
      await t.services.operations.runOnce();
      clock.set('2026-06-08T10:30:00.000Z');
      await t.services.operations.runOnce();
      clock.set('2026-06-15T09:00:30.000Z');
      await t.services.operations.runOnce();
      const starts = await windowStarts();
      expect(starts.map((d) => (d.inputs['occurrence'] as { from: string }).from)).toEqual([
        '2026-06-08T09:00:00.000Z',
        '2026-06-15T09:00:00.000Z',
      ]);
    });
  });
}
