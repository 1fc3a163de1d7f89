import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReleaseView, TargetView } from '@lockgate/api';
import { createCliWorld } from './cli-harness.ts';
import type { CliResult, CliWorld } from './cli-harness.ts';

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
  let world: CliWorld;
  let agent: ChildProcess | null = null;
  let agentLog = '';

  const lockgate = (...args: string[]): Promise<CliResult> => world.lockgate(...args);
  const ok = <T>(...args: string[]): Promise<T> => world.ok<T>(...args);
  const digest = (version: string): string => world.digests[version] ?? '?';

  async function activeOf(id: string): Promise<string | null | undefined> {
    const listed = await ok<{ items: TargetView[] }>('target', 'list');
    const target = listed.items.find((t) => t.id === id);
    return target === undefined ? undefined : target.activePack;
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
    world = await createCliWorld({
      prefix: 'rollback-floor-e2e',
      versions: ['2.0.0', '3.0.0'],
      firstSequence: 2,
      controllerInterval: 50,
    });
    const { dir } = world;
    await writeFile(
      join(dir, 'instant.json'),
      JSON.stringify({ stages: [{ name: 'all', percent: 100, soakSeconds: 0, gates: [] }] }),
    );
    await writeFile(
      join(dir, 'soak.json'),
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
      ],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
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
    await world?.close();
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
      async () => (await activeOf('host-1')) === digest('2.0.0'),
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
      async () => (await activeOf('host-1')) === digest('3.0.0'),
    );

    const refused = await lockgate('release', 'rollback', id, '--reason', 'bad v3');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^ROLLBACK_TARGET_NOT_ALLOWED: .*below the channel floor 3/);
    expect(refused.stderr).toMatch(/lockgate rollback-auth add/);
    const status = await ok<{ release: ReleaseView }>('release', 'status', id);
    expect(status.release.state).toBe('rolling');
    const desired = (await fetch(`${world.server.url}/api/v1/targets/host-1/desired`, {
      headers: { authorization: `Bearer ${world.adminToken}` },
    }).then((r) => r.json())) as { pack: string | null };
    expect(desired.pack).toBe(digest('3.0.0'));
    expect(await activeOf('host-1')).toBe(digest('3.0.0'));

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
      outcome: { rollbackTo: digest('2.0.0') },
    });
    await until(
      'the agent back on 2.0.0',
      async () => (await activeOf('host-1')) === digest('2.0.0'),
    );
  }, 120_000);
});
