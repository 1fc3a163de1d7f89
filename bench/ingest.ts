import { readFileSync } from 'node:fs';
import { REPORT_BATCH_MAX } from '../packages/server/src/features/targets/report-queue.ts';
import { CHANNEL, ENV, seedRollingFleet } from './checkin.ts';
import { runLoad } from './lib/load.ts';
import type { LoadResult } from './lib/load.ts';
import { adminApi } from './lib/lockgate-api.ts';
import { startBare, startLockgate } from './lib/processes.ts';
import { rawWrite } from './lib/raw-write.ts';
import type { RawWriteResult } from './lib/raw-write.ts';
import type { ServedProcess } from './lib/processes.ts';
import { numberFlag, printTable } from './lib/table.ts';

const REPORT = (pack: string): string =>
  JSON.stringify({ activePack: pack, health: { requests: 100, errors: 1, latencyP95Ms: 12 } });

/**
 * Report ingestion: `POST /targets/{id}/reports` (ids rotating over the fleet), or with
 * `--per-request N` (N > 1) `POST /reports` carrying N targets' reports (a relay forwarding its
 * agents), against two baselines measured in the same run: a bare node:http server reading the
 * same body and answering 202 (the HTTP path; its reports/s counts N per request too), and the
 * same rows written in batches straight into the server's database through the same driver (the
 * database path, `lib/raw-write.ts`).
 */
export async function ingestBench(flags: Map<string, string>): Promise<void> {
  const targets = numberFlag(flags, 'targets', 10_000);
  const seconds = numberFlag(flags, 'seconds', 5);
  const connections = numberFlag(flags, 'connections', 32);
  /** reports per request: 1 is one target's POST /targets/{id}/reports, more is POST /reports */
  const perRequest = numberFlag(flags, 'per-request', 1);
  const postgresUrl = flags.get('postgres');
  /** `--cpu-prof DIR`: the server writes a V8 CPU profile there when it stops. */
  const profileDir = flags.get('cpu-prof');
  const body =
    perRequest === 1
      ? REPORT(`sha256:${'a'.repeat(64)}`)
      : bulk(0, perRequest, targets, `sha256:${'a'.repeat(64)}`);

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
    ...(profileDir === undefined
      ? {}
      : { env: { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profileDir}` } }),
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
        next: (n) =>
          perRequest === 1
            ? { path: `/api/v1/targets/fleet-${n % targets}/reports`, body: REPORT(seeded.v1) }
            : { path: '/api/v1/reports', body: bulk(n, perRequest, targets, seeded.v1) },
      }),
    );
    const load = loadAverage();
    // The database path: the same rows written straight through the driver, no HTTP.
    const raw: { batch: number; result: RawWriteResult }[] = [];
    // rows per transaction: what one batch of the queue holds under this load, and the most
    const usual = perRequest === 1 ? connections : perRequest;
    for (const batch of [...new Set([usual, REPORT_BATCH_MAX])]) {
      const result = await rawWrite({
        database: server.database,
        batch,
        seconds,
        targetIds: Array.from({ length: targets }, (_, n) => `fleet-${n}`),
        env: ENV,
        channel: `${CHANNEL}-raw`,
        activePack: seeded.v1,
        health: JSON.stringify({ requests: 100, errors: 1, latencyP95Ms: 12 }),
      });
      raw.push({ batch, result });
    }
    const rate = run.result.perSecond * perRequest;
    const bareRate = bareRun.result.perSecond * perRequest;
    const path =
      perRequest === 1
        ? 'POST /targets/{id}/reports'
        : `POST /reports, ${perRequest} reports per request`;
    printTable(
      `ingestion: ${targets.toLocaleString('en-US')} targets in ${ENV}/${CHANNEL}, ${path}, ${connections} connections, ${seconds}s, ${postgresUrl === undefined ? 'SQLite' : 'PostgreSQL'}; load average ${load} (after the HTTP runs)`,
      ['path', 'reports/s', 'p50 ms', 'p99 ms', 'CPU µs/report', 'Lockgate ÷ this', 'answers'],
      [
        [
          `Lockgate ${path}`,
          rate,
          run.result.p50Ms,
          run.result.p99Ms,
          (run.cpu * 1e6) / perRequest,
          1,
          statusesOf(run.result),
        ],
        [
          'bare node:http POST (202, no write)',
          bareRate,
          bareRun.result.p50Ms,
          bareRun.result.p99Ms,
          (bareRun.cpu * 1e6) / perRequest,
          rate / bareRate,
          statusesOf(bareRun.result),
        ],
        ...raw.map(({ batch, result }) => [
          `raw batched write, ${batch} rows/transaction (client CPU)`,
          result.perSecond,
          Number.NaN,
          Number.NaN,
          result.cpuPerRow * 1e6,
          rate / result.perSecond,
          `${result.rows} rows`,
        ]),
      ],
    );
  } finally {
    await server.stop();
  }
}

/** A `POST /reports` body: the reports of `size` targets in turn from request `n` on. */
function bulk(n: number, size: number, targets: number, pack: string): string {
  const reports = Array.from({ length: size }, (_, i) => ({
    target: `fleet-${(n * size + i) % targets}`,
    activePack: pack,
    health: { requests: 100, errors: 1, latencyP95Ms: 12 },
  }));
  return JSON.stringify({ reports });
}

function statusesOf(result: LoadResult): string {
  return Object.entries(result.statuses)
    .map(([status, count]) => `${status}×${count}`)
    .join(' ');
}

function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
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
