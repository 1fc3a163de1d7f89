import { afterEach, expect, it } from 'vitest';
import type { DecisionRecord } from '../../src/features/decisions/decision-store.ts';
import { createServices } from '../../src/services.ts';
import { createTestApp, manualClock } from '../helpers/test-app.ts';
import type { ManualClock, TestApp } from '../helpers/test-app.ts';
import type { ServerConfigFlags } from '../../src/config.ts';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';

const INDEX_ROUTE = '/api/v1/channels/:env/:channel/index';
const POLICY = { errorBudgetFreeze: 'prod-eu', errorBudgetWindow: '1h' };

interface Freeze {
  env: string;
  source: string;
  reason: string;
}

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'the error budget policy the server runs itself', () => {
    let t: TestApp | null = null;
    let clock: ManualClock;

    const start = async (flags: Omit<ServerConfigFlags, 'data' | 'db'>): Promise<TestApp> => {
      clock = manualClock('2026-05-04T09:00:00.000Z');
      t = await createTestApp(dialect, flags, { clock: clock.clock });
      for (const env of ['prod-eu', 'prod-us']) {
        expect((await call('PUT', `/environments/${env}`, {})).status).toBe(201);
        expect((await call('PUT', `/environments/${env}/channels/stable`, {})).status).toBe(201);
      }
      return t;
    };

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

    /** Agents' reads of the index, answered by the app (good events of the SLO). */
    const goodReads = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i += 1) {
        const got = await call('GET', '/channels/prod-eu/stable/index');
        expect(got.status).toBe(200);
      }
    };

    /** Answers of the index route that failed: counted through the hook's own entry point. */
    const failedReads = (n: number): void => {
      for (let i = 0; i < n; i += 1) t?.services.metrics.observeHttp('GET', INDEX_ROUTE, 503, 0.01);
    };

    const scrape = async (): Promise<string> =>
      (await t!.app.inject({ method: 'GET', url: '/metrics' })).body;

    const freezes = async (): Promise<Freeze[]> =>
      (await call<{ items: Freeze[] }>('GET', '/freezes')).body.items;

    const budgetDecisions = async (): Promise<DecisionRecord[]> =>
      (await call<{ items: DecisionRecord[] }>('GET', '/decisions?limit=1000')).body.items.filter(
        (d) => d.rule === 'freeze.error_budget_exhausted',
      );

    afterEach(async () => {
      await t?.close();
      t = null;
    });

    it('freezes nothing on too little traffic, then freezes the environment once when the budget is spent', async () => {
      const app = await start(POLICY);
      await goodReads(40);
      failedReads(10);
      await app.services.operations.runOnce();
      // 50 events are fewer than the 100 the policy needs to judge: nothing happens
      expect(await freezes()).toEqual([]);
      expect(await budgetDecisions()).toEqual([]);
      const early = await scrape();
      expect(early).toContain(
        'lockgate_error_budget_window_events{slo="desired-availability",kind="total"} 50',
      );
      expect(early).not.toContain('lockgate_error_budget_remaining_ratio{');

      clock.advance(120);
      await goodReads(70);
      await app.services.operations.runOnce();
      // 10 bad of 120 spent the 0.12 bad events a 99.9% objective allows
      const spent = await scrape();
      expect(spent).toContain(
        'lockgate_error_budget_window_events{slo="desired-availability",kind="good"} 110',
      );
      expect(
        Number(
          /lockgate_error_budget_remaining_ratio\{slo="desired-availability"\} (\S+)/.exec(
            spent,
          )?.[1],
        ),
      ).toBeLessThan(0);
      const frozen = await freezes();
      expect(frozen.map((f) => [f.env, f.source])).toEqual([['prod-eu', 'error-budget']]);
      const [decision, ...more] = await budgetDecisions();
      expect(more).toEqual([]);
      expect(decision).toMatchObject({
        env: 'prod-eu',
        actor: 'lockgate',
        kind: 'freeze',
        verdict: 'frozen',
        inputs: {
          slo: 'desired-availability',
          window: '1h',
          budget: { good: 110, total: 120, exhausted: true },
        },
      });

      // later runs while frozen change nothing, whatever the traffic
      failedReads(5);
      clock.advance(60);
      await app.services.operations.runOnce();
      await app.services.operations.runOnce();
      expect(await budgetDecisions()).toHaveLength(1);
      expect((await freezes()).filter((f) => f.source === 'error-budget')).toHaveLength(1);
    });

    it('freezes once when two servers on one database find the budget spent at once', async () => {
      const app = await start(POLICY);
      // what the fleet of servers answered this minute, already in the shared samples
      await app.stores.slo.addSample('desired-availability', clock.now().toISOString(), {
        good: 990,
        total: 1000,
      });
      const other = createServices(app.config, app.stores, app.blobs, clock.clock);
      try {
        await Promise.all([app.services.operations.runOnce(), other.operations.runOnce()]);
      } finally {
        await other.close();
      }
      expect((await freezes()).map((f) => [f.env, f.source])).toEqual([
        ['prod-eu', 'error-budget'],
      ]);
      expect(await budgetDecisions()).toHaveLength(1);
    });

    it('keeps a lift until the budget recovers, and freezes again when it is spent again', async () => {
      const app = await start(POLICY);
      await goodReads(100);
      failedReads(10);
      await app.services.operations.runOnce();
      expect((await freezes()).map((f) => f.source)).toEqual(['error-budget']);
      const lifted = await call('POST', '/freezes/lift', {
        envs: ['prod-eu'],
        reason: 'INC-9: security fix must ship',
      });
      expect(lifted.status).toBe(200);

      // still exhausted: the incident commander's lift holds
      clock.advance(60);
      await app.services.operations.runOnce();
      expect(await freezes()).toEqual([]);

      // the bad minutes leave the window: the episode ends; a new one freezes again
      clock.advance(2 * 3600);
      await app.services.operations.runOnce();
      await goodReads(100);
      failedReads(10);
      await app.services.operations.runOnce();
      expect((await freezes()).map((f) => f.source)).toEqual(['error-budget']);
      expect(await budgetDecisions()).toHaveLength(2);
    });

    it('forgets traffic older than its window', async () => {
      const app = await start(POLICY);
      await goodReads(200);
      await app.services.operations.runOnce();
      clock.advance(2 * 3600);
      // one bad answer of 211 would spend the budget (0.211 allowed), but the 200 good ones are
      // older than the hour: 11 events are too few to judge
      await goodReads(10);
      failedReads(1);
      await app.services.operations.runOnce();
      expect(await freezes()).toEqual([]);
      expect(await budgetDecisions()).toEqual([]);
    });

    it('is off unless configured', async () => {
      const app = await start({});
      await goodReads(100);
      failedReads(50);
      await app.services.operations.runOnce();
      expect(await freezes()).toEqual([]);
      expect(await budgetDecisions()).toEqual([]);
    });
  });
}
