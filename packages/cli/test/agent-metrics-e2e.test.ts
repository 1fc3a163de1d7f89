import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TargetView } from '@lockgate/api';
import { createCliWorld, exitOf, freePort } from './cli-harness.ts';
import type { CliWorld } from './cli-harness.ts';

/**
 * The agent's own /metrics, from a real `lockgate agent --metrics-listen` process: scraped while
 * it follows a release that commits and one whose trial fails its health check and reverts, and
 * checked by `promtool check metrics`.
 */

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
/** How long the agent and the controller may take; a bound, never an assertion on time. */
const SETTLE_MS = 45_000;
const HAS_PROMTOOL = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;

/** The value of one sample line `name{labels} value`, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('the agent serves its own metrics', () => {
  let world: CliWorld;
  let agent: ChildProcess | null = null;
  let agentOut = '';
  let agentLog = '';
  let metricsUrl = '';

  const ok = <T>(...args: string[]): Promise<T> => world.ok<T>(...args);
  const digest = (version: string): string => world.digests[version] ?? '?';

  async function scrape(): Promise<string> {
    const response = await fetch(metricsUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    return response.text();
  }

  async function until(what: string, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + SETTLE_MS;
    while (Date.now() < deadline) {
      if (await check().catch(() => false)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${what} did not happen; agent output:\n${agentOut}\n${agentLog}`);
  }

  async function activeOf(id: string): Promise<string | null | undefined> {
    const listed = await ok<{ items: TargetView[] }>('target', 'list');
    return listed.items.find((t) => t.id === id)?.activePack;
  }

  beforeAll(async () => {
    world = await createCliWorld({
      prefix: 'agent-metrics-e2e',
      versions: ['2.0.0', '3.0.0'],
      firstSequence: 2,
      controllerInterval: 50,
    });
    const { dir } = world;
    await writeFile(
      join(dir, 'now.json'),
      JSON.stringify({ stages: [{ name: 'all', percent: 100, soakSeconds: 0, gates: [] }] }),
    );
    await ok('plan', 'set', 'now', '--file', 'now.json');
    await ok('env', 'create', 'prod-eu');
    await ok('channel', 'create', 'prod-eu/stable');
    await ok('server', 'keys', '--out', 'server-index.pub');
    const token = await ok<{ secret: string }>(
      'token',
      'create',
      'agent-host-1',
      '--role',
      'agent',
      '--target',
      'host-1',
      '--channel',
      'prod-eu/stable',
    );
    const port = await freePort();
    agent = spawn(
      process.execPath,
      [
        MAIN,
        'agent',
        '--server',
        world.server.url,
        '--token',
        token.secret,
        '--id',
        'host-1',
        '--env',
        'prod-eu',
        '--channel',
        'stable',
        '--dir',
        join(dir, 'agent-1'),
        '--trust-server',
        join(dir, 'server-index.pub'),
        '--trust-build',
        join(dir, 'keys', 'ci.pub'),
        // 2.0.0 is healthy, 3.0.0 is not: its trial reverts
        '--health-cmd',
        'grep -q "^2\\.0\\.0$" "$LOCKGATE_PACK_DIR/version.txt"',
        '--metrics-listen',
        `127.0.0.1:${port}`,
        '--json',
      ],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    agent.stdout?.on('data', (chunk: Buffer) => (agentOut += chunk.toString('utf8')));
    agent.stderr?.on('data', (chunk: Buffer) => (agentLog += chunk.toString('utf8')));
    // --json prints the start as one (indented) document, then one event per line
    await until('the agent starting', () => Promise.resolve(/"metrics": "[^"]+"/.test(agentOut)));
    metricsUrl = /"metrics": "([^"]+)"/.exec(agentOut)?.[1] ?? '';
    expect(metricsUrl).toBe(`http://127.0.0.1:${port}/metrics`);
  }, 120_000);

  afterAll(async () => {
    if (agent !== null && agent.exitCode === null) {
      agent.kill('SIGTERM');
      await exitOf(agent, 10_000);
    }
    await world?.close();
  });

  it('tells its channel, phase and index version before any pack runs, and only /metrics', async () => {
    await until('the agent accepting an index', async () => {
      const text = await scrape();
      return (sample(text, 'lockgate_target_index_version') ?? 0) >= 1;
    });
    const text = await scrape();
    expect(sample(text, 'lockgate_target_info{env="prod-eu",channel="stable"}')).toBe(1);
    const phases = text.split('\n').filter((l) => l.startsWith('lockgate_target_phase{'));
    expect(phases.length).toBeGreaterThan(10);
    expect(phases.filter((l) => l.endsWith(' 1'))).toHaveLength(1);
    expect(text).not.toContain('lockgate_target_active_pack_sequence{');
    expect(sample(text, 'lockgate_target_trial_in_progress')).toBe(0);
    expect(sample(text, 'lockgate_target_pack_fetch_bytes_total')).toBe(0);
    expect(text).toContain('# TYPE process_cpu_seconds_total counter');
    expect(text).not.toContain('host-1');
    expect((await fetch(metricsUrl.replace('/metrics', '/other'))).status).toBe(404);
  });

  it('counts the verified, fetched and committed pack and shows its sequence', async () => {
    await ok(
      'release',
      'create',
      'kb@2.0.0',
      '--to',
      'prod-eu/stable',
      '--plan',
      'now',
      '--reason',
      'test',
    );
    await until(
      'the agent running 2.0.0',
      async () => (await activeOf('host-1')) === digest('2.0.0'),
    );
    await until('the agent back to idle', async () =>
      (await scrape()).includes('lockgate_target_phase{phase="idle"} 1'),
    );
    const text = await scrape();
    expect(sample(text, 'lockgate_target_active_pack_sequence{name="kb"}')).toBe(2);
    expect(sample(text, 'lockgate_target_verifications_total{result="ok",code="OK"}')).toBe(1);
    expect(sample(text, 'lockgate_target_activations_total')).toBe(1);
    expect(sample(text, 'lockgate_target_pack_fetch_bytes_total')).toBeGreaterThan(0);
    expect(sample(text, 'lockgate_target_trial_in_progress')).toBe(0);
    const verifiedAt = sample(
      text,
      'lockgate_target_last_verification_timestamp_seconds{result="ok",code="OK"}',
    );
    expect(verifiedAt).toBeGreaterThan(Date.parse('2026-01-01T00:00:00Z') / 1000);
    expect(text).not.toMatch(/lockgate_target_reverts_total\{/);
  });

  it('counts a trial that failed its health check as a revert, back on the committed pack', async () => {
    await ok(
      'release',
      'create',
      'kb@3.0.0',
      '--to',
      'prod-eu/stable',
      '--plan',
      'now',
      '--reason',
      'test',
    );
    await until('the trial of 3.0.0 reverting', async () => {
      const text = await scrape();
      return sample(text, 'lockgate_target_reverts_total{code="HEALTH_CHECK_FAILED"}') === 1;
    });
    await until('the agent back to idle', async () =>
      (await scrape()).includes('lockgate_target_phase{phase="idle"} 1'),
    );
    const text = await scrape();
    expect(sample(text, 'lockgate_target_activations_total')).toBe(2);
    expect(sample(text, 'lockgate_target_verifications_total{result="ok",code="OK"}')).toBe(2);
    expect(sample(text, 'lockgate_target_active_pack_sequence{name="kb"}')).toBe(2);
    expect(await activeOf('host-1')).toBe(digest('2.0.0'));
  });

  it.runIf(process.env['CI'] === 'true' || HAS_PROMTOOL)(
    'writes an exposition that promtool check metrics parses, and lockgate_target_* pass its lint',
    async () => {
      const text = await scrape();
      const check = (input: string) => {
        const checked = spawnSync('promtool', ['check', 'metrics'], { input, encoding: 'utf8' });
        return { status: checked.status, output: `${checked.stdout}${checked.stderr}`.trim() };
      };
      const ours = text
        .split('\n')
        .filter((line) => /^(# (HELP|TYPE) )?lockgate_target_/.test(line))
        .join('\n');
      expect(ours).toContain('# TYPE lockgate_target_pack_fetch_bytes_total counter');
      expect(check(`${ours}\n`)).toEqual({ status: 0, output: '' });
      // prom-client's own Node.js gauges end in _total, which the lint flags; nothing else may be
      // flagged, and the whole text parses.
      const all = check(text);
      expect(all.output).not.toMatch(/error while linting|parse/i);
      for (const line of all.output.split('\n').filter((l) => l !== '')) {
        expect(line).toMatch(/^nodejs_\w+ non-counter metrics should not have "_total" suffix$/);
      }
    },
  );
});
