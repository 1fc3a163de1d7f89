import { CHANNEL, ENV, seedRollingFleet } from './checkin.ts';
import { runLoad } from './lib/load.ts';
import type { LoadResult } from './lib/load.ts';
import { adminApi } from './lib/lockgate-api.ts';
import { startBare, startLockgate } from './lib/processes.ts';
import type { ServedProcess } from './lib/processes.ts';
import { numberFlag, printTable } from './lib/table.ts';

const REPORT = (pack: string): string =>
  JSON.stringify({ activePack: pack, health: { requests: 100, errors: 1, latencyP95Ms: 12 } });

/**
 * Report ingestion: `POST /targets/{id}/reports` (ids rotating over the fleet) against a bare
 * node:http server reading the same body and answering 202, in the same run.
 */
export async function ingestBench(flags: Map<string, string>): Promise<void> {
  const targets = numberFlag(flags, 'targets', 10_000);
  const seconds = numberFlag(flags, 'seconds', 5);
  const connections = numberFlag(flags, 'connections', 32);
  const postgresUrl = flags.get('postgres');
  const body = REPORT(`sha256:${'a'.repeat(64)}`);

  const bare = await startBare();
  let bareRun: { result: LoadResult; cpu: number };
  try {
    bareRun = await measured(bare, () =>
      runLoad({ url: `${bare.url}/reports`, method: 'POST', body, seconds, connections }),
    );
  } finally {
    await bare.stop();
  }
  const server = await startLockgate({
    ...(postgresUrl === undefined ? {} : { postgresUrl }),
    logLevel: flags.get('log-level') ?? 'info',
    controllerIntervalMs: 2000,
  });
  try {
    const api = adminApi(server.url, server.adminToken);
    const seeded = await seedRollingFleet(api, targets);
    const run = await measured(server, () =>
      runLoad({
        url: server.url,
        method: 'POST',
        seconds,
        connections,
        headers: { authorization: `Bearer ${seeded.agentToken}` },
        next: (n) => ({
          path: `/api/v1/targets/fleet-${n % targets}/reports`,
          body: REPORT(seeded.v1),
        }),
      }),
    );
    printTable(
      `ingestion: ${targets.toLocaleString('en-US')} targets in ${ENV}/${CHANNEL}, ${connections} connections, ${seconds}s, ${postgresUrl === undefined ? 'SQLite' : 'PostgreSQL'}`,
      [
        'route',
        'req/s',
        'p50 ms',
        'p99 ms',
        'bare req/s',
        'ratio',
        'CPU µs/req',
        'bare CPU µs/req',
        'answers',
      ],
      [
        [
          'POST reports',
          run.result.perSecond,
          run.result.p50Ms,
          run.result.p99Ms,
          bareRun.result.perSecond,
          run.result.perSecond / bareRun.result.perSecond,
          run.cpu * 1e6,
          bareRun.cpu * 1e6,
          Object.entries(run.result.statuses)
            .map(([status, count]) => `${status}×${count}`)
            .join(' '),
        ],
      ],
    );
  } finally {
    await server.stop();
  }
}

/** Runs the load and returns it with the server's CPU seconds per request. */
export async function measured(
  server: Pick<ServedProcess, 'cpuSeconds'>,
  load: () => Promise<LoadResult>,
): Promise<{ result: LoadResult; cpu: number }> {
  const before = server.cpuSeconds();
  const result = await load();
  return { result, cpu: (server.cpuSeconds() - before) / Math.max(1, result.requests) };
}
