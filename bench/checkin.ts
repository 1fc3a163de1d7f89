import { runLoad } from './lib/load.ts';
import type { LoadResult } from './lib/load.ts';
import {
  adminApi,
  agentToken,
  createChannel,
  pushPack,
  registerTargets,
  trustBuildKey,
} from './lib/lockgate-api.ts';
import type { Api } from './lib/lockgate-api.ts';
import { startBare, startLockgate } from './lib/processes.ts';
import type { LockgateProcess } from './lib/processes.ts';
import { numberFlag, printTable } from './lib/table.ts';

export const ENV = 'bench';
export const CHANNEL = 'stable';

/**
 * Check-in: `GET /targets/{id}/desired` (ids rotating over the fleet), the channel index with
 * `If-None-Match` (304) and without (200), against a bare node:http server answering a small
 * JSON body, measured in the same run. A release is rolling (stage 1 of the canary plan) while
 * it runs, so the index carries a rollout.
 */
export async function checkinBench(flags: Map<string, string>): Promise<void> {
  const targets = numberFlag(flags, 'targets', 10_000);
  const seconds = numberFlag(flags, 'seconds', 5);
  const connections = numberFlag(flags, 'connections', 32);
  const postgresUrl = flags.get('postgres');

  const bare = await startBare();
  let bareResult: LoadResult;
  let bareCpuPerRequest: number;
  try {
    const cpu = bare.cpuSeconds();
    bareResult = await runLoad({ url: `${bare.url}/desired`, seconds, connections });
    bareCpuPerRequest = (bare.cpuSeconds() - cpu) / bareResult.requests;
  } finally {
    await bare.stop();
  }

  const server = await startLockgate({
    ...(postgresUrl === undefined ? {} : { postgresUrl }),
    logLevel: flags.get('log-level') ?? 'info',
    ...(flags.has('profile')
      ? { env: { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${flags.get('profile')}` } }
      : {}),
    controllerIntervalMs: 2000,
  });
  try {
    const api = adminApi(server.url, server.adminToken);
    const seeded = await seedRollingFleet(api, targets);
    const agent = { authorization: `Bearer ${seeded.agentToken}` };
    const rows: (string | number)[][] = [];
    const measure = async (name: string, run: () => Promise<LoadResult>): Promise<void> => {
      const cpu = server.cpuSeconds();
      const result = await run();
      const used = server.cpuSeconds() - cpu;
      rows.push([
        name,
        result.perSecond,
        result.p50Ms,
        result.p99Ms,
        bareResult.perSecond,
        result.perSecond / bareResult.perSecond,
        (used / result.requests) * 1e6,
        bareCpuPerRequest * 1e6,
        bareCpuPerRequest / (used / result.requests),
        Object.entries(result.statuses)
          .map(([status, count]) => `${status}×${count}`)
          .join(' '),
      ]);
    };
    // Every target checks in once first, as a running fleet has: the steady state is measured.
    await runLoad({
      url: server.url,
      seconds: 120,
      maxRequests: targets,
      connections,
      warmup: 0,
      headers: agent,
      next: (n) => ({ path: `/api/v1/targets/fleet-${n % targets}/desired` }),
    });
    await measure('desired', () =>
      runLoad({
        url: server.url,
        seconds,
        connections,
        headers: agent,
        next: (n) => ({ path: `/api/v1/targets/fleet-${n % targets}/desired` }),
      }),
    );
    const indexPath = `/api/v1/channels/${ENV}/${CHANNEL}/index`;
    const { version } = await indexVersion(server, seeded.agentToken);
    await measure('index 304', () =>
      runLoad({
        url: `${server.url}${indexPath}`,
        seconds,
        connections,
        headers: { ...agent, 'if-none-match': `"${version}"` },
      }),
    );
    await measure('index 200', () =>
      runLoad({ url: `${server.url}${indexPath}`, seconds, connections, headers: agent }),
    );
    printTable(
      `check-in: ${targets.toLocaleString('en-US')} targets, ${connections} connections, ${seconds}s each, ${postgresUrl === undefined ? 'SQLite' : 'PostgreSQL'}; server RSS ${server.rssMiB().toFixed(0)} MiB`,
      [
        'route',
        'req/s',
        'p50 ms',
        'p99 ms',
        'bare req/s',
        'ratio',
        'CPU µs/req',
        'bare CPU µs/req',
        'CPU ratio',
        'answers',
      ],
      rows,
    );
  } finally {
    await server.stop();
  }
}

async function indexVersion(server: LockgateProcess, token: string): Promise<{ version: number }> {
  const response = await fetch(`${server.url}/api/v1/channels/${ENV}/${CHANNEL}/index`, {
    headers: { authorization: `Bearer ${token}` },
  });
  await response.arrayBuffer();
  return { version: Number((response.headers.get('etag') ?? '"0"').replaceAll('"', '')) };
}

/**
 * A channel with v1 released to everyone (plan `all`: one stage, no soak) and v2 rolling on the
 * built-in canary plan (10% for 10 minutes), `targets` targets `fleet-N` and an agent token for
 * them all.
 */
export async function seedRollingFleet(
  api: Api,
  targets: number,
): Promise<{ agentToken: string; v1: string; v2: string }> {
  const key = await trustBuildKey(api);
  const v1 = await pushPack(api, key, 'kb', '1.0.0', 1);
  const v2 = await pushPack(api, key, 'kb', '2.0.0', 2);
  await api.call('PUT', '/plans/all', {
    stages: [{ name: 'all', percent: 100, soakSeconds: 0, gates: [] }],
  });
  await createChannel(api, ENV, CHANNEL);
  await registerTargets(api, { env: ENV, channel: CHANNEL, prefix: 'fleet', count: targets });
  const first = await api.call<{ release: { id: string } }>('POST', '/releases', {
    pack: v1,
    env: ENV,
    channel: CHANNEL,
    plan: 'all',
    reason: 'bench baseline',
  });
  await untilState(api, first.release.id, 'completed');
  const second = await api.call<{ release: { id: string } }>('POST', '/releases', {
    pack: v2,
    env: ENV,
    channel: CHANNEL,
    plan: 'canary',
    reason: 'bench rollout',
  });
  await untilState(api, second.release.id, 'rolling');
  const agentSecret = await agentToken(api, 'bench-fleet', 'fleet-*', ENV, CHANNEL);
  return { agentToken: agentSecret, v1, v2 };
}

export async function untilState(api: Api, id: string, state: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  let last = '';
  while (Date.now() < deadline) {
    last = (await api.call<{ release: { state: string } }>('GET', `/releases/${id}`)).release.state;
    if (last === state) return;
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error(`release ${id} stayed ${last}, never ${state}`);
}
