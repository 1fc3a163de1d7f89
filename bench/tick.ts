import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildApp,
  createBlobStore,
  createServices,
  createStores,
  loadServerConfig,
  openDatabase,
  systemClock,
} from '@lockgate/server';
import { CHANNEL, ENV } from './checkin.ts';
import { adminApi, createChannel, pushPack, trustBuildKey } from './lib/lockgate-api.ts';
import { printTable } from './lib/table.ts';

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/**
 * The controller tick against fleet size and reports in the window, in process on SQLite: a
 * release rolling in its canary stage (gated on error rate), `targets` targets with `reports`
 * reports each in the window; the tick is timed with nothing new to decide (the median of 5, and
 * the first, which catches up the reports). The baseline is the same run's cheapest database
 * round trip (one `GET /healthz`-sized read: a target by id).
 *
 * Operator commands in the same setup: a pause and a resume of the release through the API while
 * the controller ticks without pause beside them (median of 5 round trips), against the same
 * run's `GET /targets/{id}` through the API (median of 20) as the baseline.
 */
export async function tickBench(flags: Map<string, string>): Promise<void> {
  const sizes = (flags.get('targets') ?? '1000,10000')
    .split(',')
    .map((s) => Number(s.replaceAll('_', '')));
  const reportCounts = (flags.get('reports') ?? '0,1,10').split(',').map(Number);
  const rows: (string | number)[][] = [];
  for (const size of sizes) {
    for (const reports of reportCounts) rows.push(await oneTick(size, reports));
  }
  printTable(
    'controller tick (SQLite, in process, a release in its gated canary stage, median of 5 ticks)',
    [
      'targets',
      'reports/target',
      'tick ms',
      'first tick ms',
      'target read ms',
      'tick / target read',
      'budget ms',
      'pause+resume ms',
      'GET target ms',
      'command / GET',
      'command budget ms',
    ],
    rows,
  );
}

async function oneTick(targets: number, reports: number): Promise<(string | number)[]> {
  const dir = await mkdtemp(join(tmpdir(), 'lockgate-tick-bench-'));
  const adminToken = randomBytes(24).toString('hex');
  const config = loadServerConfig(
    { data: dir, port: 0, logLevel: 'silent', controllerInterval: 3_600_000 },
    { LOCKGATE_ADMIN_TOKEN: adminToken },
  );
  const database = await openDatabase(config);
  const stores = createStores(database.db);
  const services = createServices(config, stores, createBlobStore(join(dir, 'blobs')), systemClock);
  const app = buildApp({ config, services });
  try {
    await services.tokens.bootstrap();
    await services.serverKeys.bootstrap();
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const api = adminApi(url, adminToken);
    const key = await trustBuildKey(api);
    const v1 = await pushPack(api, key, 'kb', '1.0.0', 1);
    const v2 = await pushPack(api, key, 'kb', '2.0.0', 2);
    await api.call('PUT', '/plans/all', {
      stages: [{ name: 'all', percent: 100, soakSeconds: 0, gates: [] }],
    });
    await api.call('PUT', '/plans/gated', {
      stages: [
        {
          name: 'canary',
          percent: 10,
          soakSeconds: 3600,
          gates: [
            {
              metric: 'error_rate',
              op: '<=',
              threshold: 0.05,
              windowSeconds: 3600,
              minTargets: 1,
              minSamples: 1,
            },
          ],
        },
        { name: 'all', percent: 100, soakSeconds: 0, gates: [] },
      ],
    });
    await createChannel(api, ENV, CHANNEL);
    const now = new Date().toISOString();
    await stores.transaction(async (tx) => {
      for (let i = 0; i < targets; i++) {
        await tx.targets.upsert({
          id: `fleet-${i}`,
          env: ENV,
          channel: CHANNEL,
          labels: { zone: i % 2 === 0 ? 'west' : 'east' },
          capabilities: {},
          activePack: null,
          lastAttempt: null,
          lastReportAt: null,
          registeredAt: now,
          updatedAt: now,
        });
      }
    });
    const release = async (pack: string, plan: string, state: string): Promise<string> => {
      const created = await api.call<{ release: { id: string } }>('POST', '/releases', {
        pack,
        env: ENV,
        channel: CHANNEL,
        plan,
        reason: 'tick bench',
      });
      for (let i = 0; i < 50; i++) {
        await services.controller.tick();
        const current = await api.call<{ release: { state: string } }>(
          'GET',
          `/releases/${created.release.id}`,
        );
        if (current.release.state === state) return created.release.id;
        await sleep(10);
      }
      throw new Error(`release of ${pack} never ${state}`);
    };
    await release(v1, 'all', 'completed');
    const rolling = await release(v2, 'gated', 'rolling');
    await stores.transaction(async (tx) => {
      for (let r = 0; r < reports; r++) {
        const at = new Date(Date.now() - r * 1000).toISOString();
        for (let i = 0; i < targets; i++) {
          await tx.targets.recordReport({
            id: randomUUID(),
            targetId: `fleet-${i}`,
            env: ENV,
            channel: CHANNEL,
            at,
            activePack: v1,
            health: { requests: 100, errors: 0 },
          });
        }
      }
    });
    const ticks: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      await services.controller.tick();
      ticks.push(performance.now() - started);
    }
    const reads: number[] = [];
    for (let i = 0; i < 50; i++) {
      const started = performance.now();
      await stores.targets.find(`fleet-${i}`);
      reads.push(performance.now() - started);
    }
    // operator commands while the controller keeps ticking
    let ticking = true;
    const ticker = (async () => {
      while (ticking) {
        await services.controller.tick();
        await sleep(0);
      }
    })();
    const commands: number[] = [];
    const gets: number[] = [];
    try {
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        await api.call('POST', `/releases/${rolling}/pause`, { reason: 'tick bench' });
        await api.call('POST', `/releases/${rolling}/resume`, { reason: 'tick bench' });
        commands.push(performance.now() - started);
      }
      for (let i = 0; i < 20; i++) {
        const started = performance.now();
        await api.call('GET', `/targets/fleet-${i}`);
        gets.push(performance.now() - started);
      }
    } finally {
      ticking = false;
      await ticker;
    }
    const tick = median(ticks);
    const read = median(reads);
    const command = median(commands);
    const get = median(gets);
    return [
      targets,
      reports,
      tick,
      ticks[0] ?? Number.NaN,
      read,
      tick / read,
      50,
      command,
      get,
      command / get,
      100,
    ];
  } finally {
    await services.close();
    await app.close();
    await database.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
