import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../src/features/decisions/decision-store.ts';
import {
  baseline,
  createChannel,
  createRelease,
  createWorld,
  ENV,
  Fleet,
  getRelease,
  putPlan,
  simulatedTargets,
  timelineOf,
} from '../helpers/release-world.ts';
import type { World } from '../helpers/release-world.ts';
import { DIALECTS } from '../helpers/test-database.ts';

const sqlite = DIALECTS[0];
if (sqlite === undefined) throw new Error('no SQLite dialect');

const gate = {
  metric: 'error_rate',
  op: '<=',
  threshold: 0.05,
  windowSeconds: 300,
  minTargets: 1,
  minSamples: 50,
};
const TWO_STAGES = [
  { name: 'canary', percent: 25, soakSeconds: 600, gates: [gate] },
  { name: 'all', percent: 100, soakSeconds: 600, gates: [gate] },
];

interface ActiveFreeze {
  env: string;
  id: string;
  source: string;
  reason: string;
}

describe('stop the line', () => {
  let w: World;
  let fleet: Fleet;

  const run = async (
    n: number,
    errorRate?: (id: string, pack: string | null) => number,
  ): Promise<void> => {
    for (let i = 0; i < n; i += 1) {
      await w.t.services.controller.tick();
      await fleet.step(errorRate);
      w.clock.advance(60);
    }
  };

  const records = async (): Promise<DecisionRecord[]> =>
    (await w.call<{ items: DecisionRecord[] }>('GET', '/decisions?limit=1000')).body.items;

  beforeEach(async () => {
    w = await createWorld(sqlite);
    await createChannel(w);
    await baseline(w, w.packs.v1);
    await putPlan(w, 'two', TWO_STAGES);
    expect((await w.call('PUT', '/environments/prod-us', {})).status).toBe(201);
    expect((await w.call('PUT', '/environments/staging', {})).status).toBe(201);
    fleet = new Fleet(w, simulatedTargets(40));
    await fleet.register();
    await fleet.step();
  });

  afterEach(async () => {
    await w.close();
  });

  it('freezes every environment at once, each with its own recorded decision', async () => {
    const stopped = await w.call<{ items: ActiveFreeze[] }>('POST', '/freezes', {
      reason: 'incident 7: bad config in the wild',
    });
    expect(stopped.status).toBe(201);
    expect(stopped.body.items.map((f) => [f.env, f.source])).toEqual([
      [ENV, 'stop-the-line'],
      ['prod-us', 'stop-the-line'],
      ['staging', 'stop-the-line'],
    ]);
    const active = await w.call<{ items: ActiveFreeze[] }>('GET', '/freezes');
    expect(active.body.items).toHaveLength(3);
    const stops = (await records()).filter((r) => r.rule === 'freeze.stop_the_line');
    expect(stops.map((r) => r.env)).toEqual([ENV, 'prod-us', 'staging']);
    expect(stops.every((r) => r.inputs['scope'] === 'all')).toBe(true);
    const again = await w.call<{ items: ActiveFreeze[] }>('POST', '/freezes', { reason: 'twice' });
    expect(again.body.items).toEqual([]);
  });

  it('blocks a stage from advancing and promotions, but lets a pause and a rollback through', async () => {
    const created = await createRelease(w, { pack: w.packs.v2.digest, plan: 'two' });
    await run(2);
    expect((await getRelease(w, created.id)).state).toBe('rolling');
    await w.call('POST', '/freezes', { reason: 'stop everything' });
    await run(12);
    expect(await getRelease(w, created.id)).toMatchObject({ state: 'rolling', stageIndex: 0 });
    expect((await timelineOf(w, created.id)).at(-1)?.rule).toBe('freeze.blocks_advance');
    const promoted = await w.call('POST', `/releases/${created.id}/promote`, { reason: 'hurry' });
    expect(promoted).toMatchObject({ status: 409, body: { code: 'FREEZE_ACTIVE' } });
    const paused = await w.call('POST', `/releases/${created.id}/pause`, { reason: 'look' });
    expect(paused.status).toBe(200);
    const resumed = await w.call('POST', `/releases/${created.id}/resume`, { reason: 'go on' });
    expect(resumed.status).toBe(200);
    await run(2, (_id, pack) => (pack === w.packs.v2.digest ? 0.5 : 0));
    expect((await getRelease(w, created.id)).state).toBe('rolled_back');
  });

  it('holds a release requested during the stop until the line is lifted', async () => {
    await w.call('POST', '/freezes', { reason: 'stop', envs: [ENV] });
    const created = await createRelease(w, { pack: w.packs.v2.digest, plan: 'two' });
    await run(2);
    expect((await getRelease(w, created.id)).state).toBe('requested');
    const lifted = await w.call<{ items: ActiveFreeze[] }>('POST', '/freezes/lift', {
      reason: 'fixed',
    });
    expect(lifted.body.items.map((f) => f.env)).toEqual([ENV]);
    await run(1);
    expect((await getRelease(w, created.id)).state).toBe('rolling');
    expect((await records()).filter((r) => r.rule === 'freeze.lifted')).toHaveLength(1);
  });

  it('lifts stop-the-line freezes and leaves scheduled windows in place', async () => {
    const now = w.clock.now().getTime();
    const scheduled = await w.call('POST', `/environments/${ENV}/freeze-windows`, {
      reason: 'launch day',
      kind: 'once',
      start: new Date(now).toISOString(),
      end: new Date(now + 3_600_000).toISOString(),
    });
    expect(scheduled.status).toBe(201);
    await w.call('POST', '/freezes', { reason: 'stop' });
    await w.call('POST', '/freezes/lift', { reason: 'over' });
    const active = await w.call<{ items: ActiveFreeze[] }>('GET', '/freezes');
    expect(active.body.items.map((f) => [f.env, f.source, f.reason])).toEqual([
      [ENV, 'window', 'launch day'],
    ]);
  });

  it('refuses to stop an environment that does not exist, and changes nothing', async () => {
    const refused = await w.call<{ code: string }>('POST', '/freezes', {
      reason: 'stop',
      envs: [ENV, 'nowhere'],
    });
    expect(refused.body.code).toBe('ENVIRONMENT_NOT_FOUND');
    expect((await w.call<{ items: unknown[] }>('GET', '/freezes')).body.items).toEqual([]);
  });
});

describe('the error budget policy', () => {
  let w: World;

  beforeEach(async () => {
    w = await createWorld(sqlite);
    await createChannel(w);
  });

  afterEach(async () => {
    await w.close();
  });

  const report = (good: number, total: number) =>
    w.call<{ frozen: ActiveFreeze | null; alreadyFrozen: boolean; budget: { exhausted: boolean } }>(
      'POST',
      '/freezes/error-budget',
      {
        env: ENV,
        slo: 'desired-availability',
        objective: 0.999,
        good,
        total,
        window: '30d',
        source: 'test',
      },
    );

  it('freezes the environment once when the budget is spent, recorded with the numbers', async () => {
    const healthy = await report(99_950, 100_000);
    expect(healthy.body).toMatchObject({ frozen: null, budget: { exhausted: false } });
    const spent = await report(99_800, 100_000);
    expect(spent.status).toBe(200);
    expect(spent.body.frozen).toMatchObject({ env: ENV, source: 'error-budget' });
    const again = await report(99_700, 100_000);
    expect(again.body).toMatchObject({ frozen: null, alreadyFrozen: true });
    const records = (await w.call<{ items: DecisionRecord[] }>('GET', '/decisions?limit=1000')).body
      .items;
    const frozen = records.filter((r) => r.rule === 'freeze.error_budget_exhausted');
    expect(frozen).toHaveLength(1);
    expect(frozen[0]?.inputs['budget']).toMatchObject({
      bad: 200,
      total: 100_000,
      exhausted: true,
    });
  });

  it('decides nothing on too few events', async () => {
    const thin = await report(0, 10);
    expect(thin.body).toMatchObject({ frozen: null, budget: { exhausted: false } });
  });

  it('is lifted like a stop-the-line freeze', async () => {
    await report(0, 1000);
    const lifted = await w.call<{ items: ActiveFreeze[] }>('POST', '/freezes/lift', {
      reason: 'budget reset after the fix',
    });
    expect(lifted.body.items.map((f) => f.source)).toEqual(['error-budget']);
  });
});
