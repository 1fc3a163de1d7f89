import type { TargetAttempt } from '@lockgate/core';
import { hashToken } from '../../src/features/tokens/token-service.ts';
import type { DecisionRecord } from '../../src/features/decisions/decision-store.ts';
import type { ReleaseView } from '../../src/features/releases/release-service.ts';
import { makePack, newSigner } from './packs.ts';
import type { TestPack } from './packs.ts';
import { createTestApp, manualClock } from './test-app.ts';
import type { ManualClock, TestApp, TestAppOptions } from './test-app.ts';
import type { TestDialect } from './test-database.ts';

export const ENV = 'prod-eu';
export const CHANNEL = 'stable';
export const START = '2026-03-02T08:00:00.000Z';

export interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Record<string, unknown>;
}

/** A test app with a hand-moved clock, trusted build key and pushed packs kb 1/2/3/4. */
export interface World {
  t: TestApp;
  clock: ManualClock;
  packs: { v1: TestPack; v2: TestPack; v3: TestPack; v4: TestPack };
  call<T = Record<string, unknown>>(
    method: 'GET' | 'PUT' | 'POST' | 'DELETE',
    url: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Answer<T>>;
  /** Headers of another principal (a token with this name, created on first use). */
  as(name: string): Promise<Record<string, string>>;
  close(): Promise<void>;
}

export async function createWorld(
  dialect: TestDialect,
  options: TestAppOptions & { controllerInterval?: string; prometheusUrl?: string } = {},
): Promise<World> {
  const clock = manualClock(START);
  const t = await createTestApp(
    dialect,
    {
      ...(options.controllerInterval === undefined
        ? {}
        : { controllerInterval: options.controllerInterval }),
      ...(options.prometheusUrl === undefined ? {} : { prometheusUrl: options.prometheusUrl }),
    },
    { clock: clock.clock, ...options },
  );
  const call: World['call'] = async (method, url, body, headers = {}) => {
    const response = await t.app.inject({
      method,
      url: `/api/v1${url}`,
      headers: { ...t.auth, ...headers },
      ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
    });
    return {
      status: response.statusCode,
      body: (response.body === '' ? {} : response.json()) as never,
      headers: response.headers,
    };
  };
  const signer = newSigner();
  const trusted = await call('POST', '/trust/keys', { publicKeyPem: signer.publicKeyPem });
  if (trusted.status !== 201) throw new Error(`trust: ${JSON.stringify(trusted.body)}`);
  const make = (n: number): Promise<TestPack> =>
    makePack({
      signer,
      version: `${n}.0.0`,
      sequence: n,
      buildId: `build-${n}`,
      files: { 'data/kb.txt': `knowledge base ${n}\n` },
    });
  const packs = { v1: await make(1), v2: await make(2), v3: await make(3), v4: await make(4) };
  for (const pack of Object.values(packs)) {
    const pushed = await t.app.inject({
      method: 'POST',
      url: '/api/v1/packs',
      headers: { ...t.auth, 'content-type': 'application/gzip' },
      payload: pack.bytes,
    });
    if (pushed.statusCode !== 201) throw new Error(`push: ${pushed.body}`);
  }
  const tokens = new Map<string, Record<string, string>>();
  return {
    t,
    clock,
    packs,
    call,
    async as(name) {
      let headers = tokens.get(name);
      if (headers === undefined) {
        const token = `token-of-${name}-0123456789abcdef`;
        await t.stores.tokens.insert({
          id: `tok_${name}`,
          name,
          tokenHash: hashToken(token),
          role: 'admin',
          createdAt: START,
          revokedAt: null,
        });
        headers = { authorization: `Bearer ${token}` };
        tokens.set(name, headers);
      }
      return headers;
    },
    close: () => t.close(),
  };
}

/** Creates the environment and channel (PUT bodies as given). */
export async function createChannel(
  world: World,
  channel: Record<string, unknown> = {},
  env = ENV,
  name = CHANNEL,
): Promise<void> {
  const made = await world.call('PUT', `/environments/${env}`, { description: 'EU production' });
  if (made.status !== 201 && made.status !== 200) throw new Error(JSON.stringify(made.body));
  const created = await world.call('PUT', `/environments/${env}/channels/${name}`, channel);
  if (created.status !== 201) throw new Error(JSON.stringify(created.body));
}

export async function putPlan(world: World, name: string, stages: unknown[]): Promise<void> {
  const put = await world.call('PUT', `/plans/${name}`, { stages });
  if (put.status !== 201 && put.status !== 200) throw new Error(JSON.stringify(put.body));
}

/** One stage at 100%, no soak, no gates: completes in one tick. */
export const INSTANT_PLAN = [{ name: 'all', percent: 100, soakSeconds: 0, gates: [] }];

export async function createRelease(
  world: World,
  body: Record<string, unknown>,
): Promise<ReleaseView> {
  const created = await world.call<{ release: ReleaseView }>('POST', '/releases', {
    env: ENV,
    channel: CHANNEL,
    reason: 'ship it',
    ...body,
  });
  if (created.status !== 201) throw new Error(JSON.stringify(created.body));
  return created.body.release;
}

export async function getRelease(world: World, id: string): Promise<ReleaseView> {
  const got = await world.call<{ release: ReleaseView }>('GET', `/releases/${id}`);
  if (got.status !== 200) throw new Error(JSON.stringify(got.body));
  return got.body.release;
}

export async function timelineOf(world: World, id: string): Promise<DecisionRecord[]> {
  const got = await world.call<{ items: DecisionRecord[] }>('GET', `/releases/${id}/timeline`);
  if (got.status !== 200) throw new Error(JSON.stringify(got.body));
  return got.body.items;
}

/** Makes `pack` the channel's base and LKG with an instant release (plan `instant`). */
export async function baseline(world: World, pack: TestPack): Promise<void> {
  await putPlan(world, 'instant', INSTANT_PLAN);
  const release = await createRelease(world, { pack: pack.digest, plan: 'instant' });
  await world.t.services.controller.tick();
  const done = await getRelease(world, release.id);
  if (done.state !== 'completed') throw new Error(`baseline release is ${done.state}`);
}

export interface SimulatedTarget {
  id: string;
  labels: Record<string, string>;
}

export function simulatedTargets(
  n: number,
  labels: (i: number) => Record<string, string> = () => ({ region: 'eu' }),
): SimulatedTarget[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `t-${String(i).padStart(3, '0')}`,
    labels: labels(i),
  }));
}

/**
 * Simulated targets that behave like agents through the HTTP API: each step every target asks
 * what to run, "activates" it when it changed (recording the attempt), and reports health.
 */
export class Fleet {
  readonly running = new Map<string, string | null>();
  readonly desired = new Map<string, { pack: string | null; reason: string }>();
  readonly #attempts = new Map<string, TargetAttempt>();
  readonly #world: World;
  readonly targets: readonly SimulatedTarget[];

  constructor(world: World, targets: readonly SimulatedTarget[]) {
    this.#world = world;
    this.targets = targets;
  }

  async register(env = ENV, channel = CHANNEL): Promise<void> {
    for (const target of this.targets) {
      const put = await this.#world.call('PUT', `/targets/${target.id}`, {
        env,
        channel,
        labels: target.labels,
      });
      if (put.status !== 201 && put.status !== 200) throw new Error(JSON.stringify(put.body));
      this.running.set(target.id, null);
    }
  }

  /** Asks the desired endpoint for every target. */
  async poll(): Promise<void> {
    for (const target of this.targets) {
      const got = await this.#world.call<{ pack: string | null; reason: string }>(
        'GET',
        `/targets/${target.id}/desired`,
      );
      if (got.status !== 200) throw new Error(JSON.stringify(got.body));
      this.desired.set(target.id, { pack: got.body.pack, reason: got.body.reason });
    }
  }

  /**
   * poll(), activate what changed, and report `requests` with errorRate(target, pack), and the
   * signals `signalsOf(target, pack, requests)` gives (as an agent reads them from its runtime).
   */
  async step(
    errorRate: (targetId: string, pack: string | null) => number = () => 0,
    requests = 100,
    signalsOf?: (targetId: string, pack: string | null, requests: number) => Record<string, number>,
  ): Promise<void> {
    await this.poll();
    const at = this.#world.clock.now().toISOString();
    for (const target of this.targets) {
      const want = this.desired.get(target.id)?.pack ?? null;
      if (want !== null && want !== this.running.get(target.id)) {
        this.running.set(target.id, want);
        this.#attempts.set(target.id, { kind: 'activate', pack: want, result: 'ok', at });
      }
      const active = this.running.get(target.id) ?? null;
      const attempt = this.#attempts.get(target.id);
      const reported = await this.#world.call('POST', `/targets/${target.id}/reports`, {
        activePack: active,
        ...(attempt === undefined ? {} : { lastAttempt: attempt }),
        health: {
          requests,
          errors: Math.round(requests * errorRate(target.id, active)),
          ...(signalsOf === undefined ? {} : { signals: signalsOf(target.id, active, requests) }),
        },
      });
      if (reported.status !== 202) throw new Error(JSON.stringify(reported.body));
    }
  }

  /** How many targets run each pack. */
  counts(): Map<string | null, number> {
    const counts = new Map<string | null, number>();
    for (const pack of this.running.values()) counts.set(pack, (counts.get(pack) ?? 0) + 1);
    return counts;
  }
}

/**
 * A world where every target already runs v1: the channel, v1 released as its base, the plan
 * named, and a fleet of `targets` simulated targets registered and reported once.
 */
export async function createFleetWorld(
  dialect: TestDialect,
  plan: { name: string; stages: unknown[] },
  targets: number,
): Promise<{ w: World; fleet: Fleet }> {
  const w = await createWorld(dialect);
  await createChannel(w);
  await baseline(w, w.packs.v1);
  await putPlan(w, plan.name, plan.stages);
  const fleet = new Fleet(w, simulatedTargets(targets));
  await fleet.register();
  await fleet.step();
  return { w, fleet };
}
