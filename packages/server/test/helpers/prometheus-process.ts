import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Prometheus (Debian's `prometheus`) started by a test on a free loopback port, scraping the
 * given targets every second. Tests using it run whenever CI=true (.ci/run installs it) and
 * locally when the binary is on PATH.
 */
export const RUN_PROMETHEUS_TESTS =
  process.env['CI'] === 'true' ||
  spawnSync('prometheus', ['--version'], { stdio: 'ignore' }).status === 0;

export interface PrometheusProcess {
  readonly url: string;
  /** An instant query now; the raw `data.result`. */
  query(promql: string): Promise<unknown[]>;
  output(): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        resolve(typeof address === 'object' && address !== null ? address.port : 0),
      );
    });
  });
}

/** scrape: job name → `host:port` and metrics path. */
export async function startPrometheus(
  scrape: { job: string; target: string; path?: string; bearer?: string }[],
): Promise<PrometheusProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'lockgate-prometheus-'));
  const port = await freePort();
  const jobs = scrape
    .map(
      (s) =>
        `  - job_name: ${s.job}\n    metrics_path: ${s.path ?? '/metrics'}\n` +
        (s.bearer === undefined ? '' : `    authorization:\n      credentials: ${s.bearer}\n`) +
        `    static_configs:\n      - targets: ['${s.target}']\n`,
    )
    .join('');
  await writeFile(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n${jobs}`,
  );
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = performance.now() + 30_000;
  for (;;) {
    try {
      const ready = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      if (ready.ok) break;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline || child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus did not become ready:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    url,
    async query(promql) {
      const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await response.json()) as {
        status: string;
        error?: string;
        data?: { result: unknown };
      };
      if (body.status !== 'success') throw new Error(`${promql}: ${body.error ?? 'failed'}`);
      const result = body.data?.result;
      return Array.isArray(result) ? (result as unknown[]) : [result];
    },
    output: () => output,
    stop,
  };
}

/** Polls until `promql` returns at least one series, or fails after `ms`. */
export async function untilSeries(
  prometheus: PrometheusProcess,
  promql: string,
  ms = 30_000,
): Promise<unknown[]> {
  const deadline = performance.now() + ms;
  let last: unknown = null;
  while (performance.now() < deadline) {
    try {
      const result = await prometheus.query(promql);
      if (result.length > 0) return result;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`no series for ${promql} in ${ms} ms`, { cause: last });
}
