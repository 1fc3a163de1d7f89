import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonOf, makeTempDir, runCli } from './cli-harness.ts';

describe('lockgate server', () => {
  let temp: { dir: string; remove: () => Promise<void> };

  beforeAll(async () => {
    temp = await makeTempDir('server');
  });

  afterAll(async () => {
    await temp.remove();
  });

  it('prints the URL, shows a generated admin token once with its file, and stops on the signal', async () => {
    // The harness's shutdown signal arrives at once, so the server starts, reports and closes.
    const result = await runCli(
      ['server', '--data', 'data', '--port', '0', '--log-level', 'silent', '--json'],
      { cwd: temp.dir },
    );
    expect(result.code).toBe(0);
    expect(jsonOf<{ url: string }>(result).url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const tokenFile = join(temp.dir, 'data', 'admin-token');
    const token = (await readFile(tokenFile, 'utf8')).trim();
    expect(token.length).toBeGreaterThanOrEqual(16);
    expect(result.stderr).toContain(`also stored in ${tokenFile}`);
    expect(result.stderr).toContain(`\n${token}\n`);
    expect(result.stderr).toContain('SIGTERM: stopping the server');
  });

  it('does not show the token again on the next start', async () => {
    const result = await runCli(
      ['server', '--data', 'data', '--port', '0', '--log-level', 'silent'],
      {
        cwd: temp.dir,
      },
    );
    expect(result.code).toBe(0);
    expect(result.stderr).not.toMatch(/admin token/i);
  });

  it('takes the metrics access and the Prometheus URL from flags, over the environment', async () => {
    let scraped: number | null = null;
    const result = await runCli(
      [
        'server',
        '--data',
        'data',
        '--port',
        '0',
        '--log-level',
        'silent',
        '--metrics-access',
        'token',
        '--prometheus-url',
        'http://127.0.0.1:9090/',
        '--json',
      ],
      {
        cwd: temp.dir,
        env: { LOCKGATE_METRICS_ACCESS: 'open', LOCKGATE_PROMETHEUS_URL: 'http://elsewhere:9090' },
        untilShutdown: async (stdout) => {
          const { url } = JSON.parse(stdout()) as { url: string };
          scraped = (await fetch(`${url}/metrics`)).status;
          return 'SIGTERM';
        },
      },
    );
    expect(result.code).toBe(0);
    expect(jsonOf(result)).toMatchObject({
      metricsAccess: 'token',
      prometheusUrl: 'http://127.0.0.1:9090',
    });
    // `token`: even a loopback scrape needs a bearer token.
    expect(scraped).toBe(401);
  });

  it('serves /metrics to anyone with --metrics-access open', async () => {
    let body = '';
    const result = await runCli(
      [
        'server',
        '--data',
        'data',
        '--port',
        '0',
        '--log-level',
        'silent',
        '--metrics-access',
        'OPEN',
        '--json',
      ],
      {
        cwd: temp.dir,
        env: { LOCKGATE_METRICS_ACCESS: 'token' },
        untilShutdown: async (stdout) => {
          const { url } = JSON.parse(stdout()) as { url: string };
          const response = await fetch(`${url}/metrics`);
          body = response.ok ? await response.text() : `HTTP ${response.status}`;
          return 'SIGTERM';
        },
      },
    );
    expect(result.code).toBe(0);
    expect(jsonOf(result)).toMatchObject({ metricsAccess: 'open', prometheusUrl: null });
    expect(body).toContain('# TYPE lockgate_releases gauge');
  });

  it('runs the error budget policy only when told which environments it may freeze', async () => {
    const serve = (args: string[], env: Record<string, string> = {}) =>
      runCli(
        ['server', '--data', 'data', '--port', '0', '--log-level', 'silent', ...args, '--json'],
        {
          cwd: temp.dir,
          env,
          untilShutdown: () => Promise.resolve('SIGTERM' as const),
        },
      );
    const off = await serve([]);
    expect(off.code).toBe(0);
    expect(jsonOf(off)).toMatchObject({ errorBudget: null });
    const on = await serve(
      ['--error-budget-freeze', 'prod-eu,prod-us', '--error-budget-window', '7d'],
      {
        LOCKGATE_ERROR_BUDGET_OBJECTIVE: '0.995',
      },
    );
    expect(on.code).toBe(0);
    expect(jsonOf(on)).toMatchObject({
      errorBudget: { envs: ['prod-eu', 'prod-us'], objective: 0.995, window: '7d' },
    });
    const bad = await runCli(['server', '--data', 'data', '--error-budget-objective', '99.9'], {
      cwd: temp.dir,
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^VALIDATION_FAILED: .*error budget objective "99.9"/);
  });

  it('refuses a metrics access or a Prometheus URL it does not know, with the code', async () => {
    const access = await runCli(['server', '--data', 'data', '--metrics-access', 'wide'], {
      cwd: temp.dir,
    });
    expect(access.code).toBe(1);
    expect(access.stderr).toMatch(
      /^VALIDATION_FAILED: .*metrics access "wide" is not one of loopback, open, token/,
    );
    const url = await runCli(['server', '--data', 'data', '--prometheus-url', 'ftp://prom'], {
      cwd: temp.dir,
    });
    expect(url.code).toBe(1);
    expect(url.stderr).toMatch(/^VALIDATION_FAILED: .*Prometheus URL must be an http/);
  });

  it('exits 1 with the code when the server configuration is refused', async () => {
    const result = await runCli(['server', '--data', 'data', '--log-level', 'chatty'], {
      cwd: temp.dir,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^VALIDATION_FAILED: .*log level "chatty"/);
  });
});
