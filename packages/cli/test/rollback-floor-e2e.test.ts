import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServerConfig, startServer } from '@lockgate/server';
import type { RunningServer } from '@lockgate/server';
import type { ReleaseView, TargetView } from '../src/api-types.ts';
import { makeTempDir, runCli } from './cli-harness.ts';
import type { CliResult } from './cli-harness.ts';

/**
 * A rollback never lands nowhere, tried as an operator would: a real agent process commits a
 * pack above a floor the operator raised over the old base; `release rollback` is refused (and
 * says what allows it) while the agent keeps its pack; after `rollback-auth add`, the same
 * command lands and the agent really goes back.
 */

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
/** How long the agent and the controller may take; a bound, never an assertion on time. */
const SETTLE_MS = 30_000;

describe('rollback below a raised floor, with a real agent', () => {
  const adminToken = randomBytes(24).toString('hex');
  let temp: { dir: string; remove: () => Promise<void> };
  let server: RunningServer;
  let agent: ChildProcess | null = null;
  let agentLog = '';
  const digests: Record<string, string> = {};

  const lockgate = (...args: string[]): Promise<CliResult> =>
    runCli(args, {
      cwd: temp.dir,
      env: { LOCKGATE_SERVER: server.url, LOCKGATE_TOKEN: adminToken },
      now: new Date(),
    });

  async function ok<T>(...args: string[]): Promise<T> {
    const result = await lockgate(...args, '--json');
    expect(result.stderr, `stderr of lockgate ${args.join(' ')}`).toBe('');
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout) as T;
  }

  async function activeOf(id: string): Promise<string | null> {
    const listed = await ok<{ items: TargetView[] }>('target', 'list');
    return listed.items.find((t) => t.id === id)?.activePack ?? null;
  }

  async function until(what: string, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + SETTLE_MS;
    while (Date.now() < deadline) {
      if (await check()) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${what} did not happen; agent log:\n${agentLog}`);
  }

  beforeAll(async () => {
    temp = await makeTempDir('rollback-floor-e2e');
    await mkdir(join(temp.dir, 'src'));
    const config = loadServerConfig(
      { data: join(temp.dir, 'data'), port: 0, logLevel: 'silent', controllerInterval: 50 },
      { LOCKGATE_ADMIN_TOKEN: adminToken },
    );
    server = await startServer(config);
    await ok('keys', 'generate', '--out', 'keys', '--name', 'ci');
    await ok('trust', 'add', 'keys/ci.pub', '--name', 'ci');
    for (const [version, sequence] of [
      ['2.0.0', 2],
      ['3.0.0', 3],
    ] as const) {
      await writeFile(join(temp.dir, 'src', 'version.txt'), `${version}\n`);
      const built = await ok<{ digest: string }>(
        'pack',
        'build',
        'src',
        '--name',
        'kb',
        '--version',
        version,
        '--sequence',
        String(sequence),
        '--key',
        'keys/ci.key',
        '--gate',
        'tests=PASS',
        '--out',
        `kb-${version}.pack`,
      );
      await ok('pack', 'push', `kb-${version}.pack`);
      digests[version] = built.digest;
    }
    await writeFile(
      join(temp.dir, 'instant.json'),
      JSON.stringify({ stages: [{ name: 'all', percent: 100, soakSeconds: 0, gates: [] }] }),
    );
    await writeFile(
      join(temp.dir, 'soak.json'),
      JSON.stringify({ stages: [{ name: 'all', percent: 100, soakSeconds: 3600, gates: [] }] }),
    );
    await ok('plan', 'set', 'instant', '--file', 'instant.json');
    await ok('plan', 'set', 'soak', '--file', 'soak.json');
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
    agent = spawn(
      process.execPath,
      [
        MAIN,
        'agent',
        '--server',
        server.url,
        '--token',
        token.secret,
        '--id',
        'host-1',
        '--env',
        'prod-eu',
        '--channel',
        'stable',
        '--dir',
        join(temp.dir, 'agent-1'),
        '--trust-server',
        join(temp.dir, 'server-index.pub'),
        '--trust-build',
        join(temp.dir, 'keys', 'ci.pub'),
      ],
      { cwd: temp.dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    agent.stdout?.on('data', (chunk: Buffer) => (agentLog += chunk.toString('utf8')));
    agent.stderr?.on('data', (chunk: Buffer) => (agentLog += chunk.toString('utf8')));
    await until('the agent registering', async () => (await activeOf('host-1')) !== undefined);
  }, 120_000);

  afterAll(async () => {
    if (agent !== null && agent.exitCode === null) {
      const gone = new Promise((resolve) => agent?.once('exit', resolve));
      agent.kill('SIGTERM');
      await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      if (agent.exitCode === null) agent.kill('SIGKILL');
    }
    await server?.close();
    await temp?.remove();
  });

  it('refuses the rollback, keeps the agent on its pack, and lands once authorized', async () => {
    await ok(
      'release',
      'create',
      'kb@2.0.0',
      '--to',
      'prod-eu/stable',
      '--plan',
      'instant',
      '--reason',
      'base',
    );
    await until(
      'the agent running 2.0.0',
      async () => (await activeOf('host-1')) === digests['2.0.0'],
    );

    // Raising the floor above the base is refused, then confirmed and recorded.
    const raised = await lockgate('channel', 'create', 'prod-eu/stable', '--floor', '3');
    expect(raised.code).toBe(1);
    expect(raised.stderr).toMatch(/^FLOOR_ABOVE_BASE: .*kb@2\.0\.0 \(sequence 2\)/);
    await ok(
      'channel',
      'create',
      'prod-eu/stable',
      '--floor',
      '3',
      '--accept-base-below-floor',
      '--reason',
      'v2 is flawed',
    );

    const created = await ok<{ release: ReleaseView }>(
      'release',
      'create',
      'kb@3.0.0',
      '--to',
      'prod-eu/stable',
      '--plan',
      'soak',
      '--reason',
      'v3',
    );
    const id = created.release.id;
    await until(
      'the agent running 3.0.0',
      async () => (await activeOf('host-1')) === digests['3.0.0'],
    );

    const refused = await lockgate('release', 'rollback', id, '--reason', 'bad v3');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^ROLLBACK_TARGET_NOT_ALLOWED: .*below the channel floor 3/);
    expect(refused.stderr).toMatch(/lockgate rollback-auth add/);
    const status = await ok<{ release: ReleaseView }>('release', 'status', id);
    expect(status.release.state).toBe('rolling');
    const desired = (await fetch(`${server.url}/api/v1/targets/host-1/desired`, {
      headers: { authorization: `Bearer ${adminToken}` },
    }).then((r) => r.json())) as { pack: string | null };
    expect(desired.pack).toBe(digests['3.0.0']);
    expect(await activeOf('host-1')).toBe(digests['3.0.0']);

    await ok(
      'rollback-auth',
      'add',
      'prod-eu/stable',
      'kb@2.0.0',
      '--reason',
      'back to v2',
      '--expires',
      '1h',
    );
    const rolled = await ok<{ release: ReleaseView }>(
      'release',
      'rollback',
      id,
      '--reason',
      'bad v3',
    );
    expect(rolled.release).toMatchObject({
      state: 'rolled_back',
      outcome: { rollbackTo: digests['2.0.0'] },
    });
    await until(
      'the agent back on 2.0.0',
      async () => (await activeOf('host-1')) === digests['2.0.0'],
    );
  }, 120_000);
});
