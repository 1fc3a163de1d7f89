import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalBytes, readEvidenceBundle, writeEvidenceBundle } from '@lockgate/core';
import type { ReleaseView, TargetView } from '@lockgate/api';
import { createCliWorld, exitOf, makeTempDir } from './cli-harness.ts';
import type { CliWorld } from './cli-harness.ts';

/**
 * A release's evidence, as an auditor gets it: a release through a real server and two real
 * agent processes; the bundle exported; the server stopped; the bundle verified in a fresh
 * directory by a `lockgate` process with no server to ask (and by docs/verify-bundle.py); one
 * record edited; refused with the code and the file named.
 */

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const VERIFY_PY = fileURLToPath(new URL('../../../docs/verify-bundle.py', import.meta.url));
/** How long agents and the controller may take; a bound, never an assertion on time. */
const SETTLE_MS = 60_000;

function hasPython(): boolean {
  try {
    execFileSync('python3', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to its end (bounded) in `cwd` with no server in its environment. */
function runIn(cwd: string, command: string, args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env['LOCKGATE_SERVER'];
    delete env['LOCKGATE_TOKEN'];
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    void exitOf(child, 60_000).then((code) => resolve({ code, stdout, stderr }));
  });
}

describe('release evidence end to end', () => {
  let world: CliWorld;
  const agents: ChildProcess[] = [];
  let agentLog = '';
  let release = '';
  let auditor: { dir: string; remove: () => Promise<void> };

  const ok = <T>(...args: string[]): Promise<T> => world.ok<T>(...args);

  async function until(what: string, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + SETTLE_MS;
    while (Date.now() < deadline) {
      if (await check()) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${what} did not happen; agent log:\n${agentLog}`);
  }

  async function stopAgents(): Promise<void> {
    for (const agent of agents) {
      if (agent.exitCode === null) {
        agent.kill('SIGTERM');
        await exitOf(agent, 5_000);
      }
    }
  }

  beforeAll(async () => {
    world = await createCliWorld({
      prefix: 'evidence-e2e',
      versions: ['1.0.0', '2.0.0'],
      controllerInterval: 50,
    });
    auditor = await makeTempDir('evidence-auditor');
    const { dir } = world;
    const gate = {
      metric: 'activation_success_rate',
      op: '>=',
      threshold: 1,
      windowSeconds: 600,
      minTargets: 1,
      minSamples: 1,
    };
    await writeFile(
      join(dir, 'instant.json'),
      JSON.stringify({ stages: [{ name: 'all', percent: 100, soakSeconds: 0, gates: [] }] }),
    );
    await writeFile(
      join(dir, 'two.json'),
      JSON.stringify({
        stages: [
          { name: 'canary', percent: 50, soakSeconds: 1, gates: [gate] },
          { name: 'all', percent: 100, soakSeconds: 1, gates: [gate] },
        ],
      }),
    );
    await ok('plan', 'set', 'instant', '--file', 'instant.json');
    await ok('plan', 'set', 'two', '--file', 'two.json');
    await ok('env', 'create', 'prod-eu');
    await ok('channel', 'create', 'prod-eu/stable');
    await ok('server', 'keys', '--out', 'server-index.pub');
    for (const host of ['host-1', 'host-2']) {
      const token = await ok<{ secret: string }>(
        'token',
        'create',
        `agent-${host}`,
        '--role',
        'agent',
        '--target',
        host,
        '--channel',
        'prod-eu/stable',
      );
      const agent = spawn(
        process.execPath,
        [
          MAIN,
          'agent',
          '--server',
          world.server.url,
          '--token',
          token.secret,
          '--id',
          host,
          '--env',
          'prod-eu',
          '--channel',
          'stable',
          '--dir',
          join(dir, host),
          '--trust-server',
          join(dir, 'server-index.pub'),
          '--trust-build',
          join(dir, 'keys', 'ci.pub'),
        ],
        { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      agent.stdout?.on('data', (chunk: Buffer) => (agentLog += chunk.toString('utf8')));
      agent.stderr?.on('data', (chunk: Buffer) => (agentLog += chunk.toString('utf8')));
      agents.push(agent);
    }
    const activeOf = async (): Promise<(string | null)[]> =>
      (await ok<{ items: TargetView[] }>('target', 'list')).items.map((t) => t.activePack);
    await until('both agents registering', async () => (await activeOf()).length === 2);
    await ok(
      'release',
      'create',
      'kb@1.0.0',
      '--to',
      'prod-eu/stable',
      '--plan',
      'instant',
      '--reason',
      'base',
    );
    const v1 = world.digests['1.0.0'];
    await until('both agents on 1.0.0', async () => (await activeOf()).every((p) => p === v1));
    const created = await ok<{ release: ReleaseView }>(
      'release',
      'create',
      'kb@2.0.0',
      '--to',
      'prod-eu/stable',
      '--plan',
      'two',
      '--reason',
      'v2',
    );
    release = created.release.id;
    await until('the release completing', async () => {
      const status = await ok<{ release: ReleaseView }>('release', 'status', release);
      if (['rolled_back', 'aborted', 'failed'].includes(status.release.state)) {
        throw new Error(`release ended ${status.release.state}: ${JSON.stringify(status)}`);
      }
      return status.release.state === 'completed';
    });
  }, 180_000);

  afterAll(async () => {
    await stopAgents();
    await world?.close();
    await auditor?.remove();
  });

  it('exports a bundle that verifies and replays offline with the server stopped, and refuses an edited record or context', async () => {
    const evidence = await ok<{
      sealed: boolean;
      checkpoints: { name: string; attestation?: unknown }[];
    }>('evidence', 'show', release);
    expect(evidence.sealed).toBe(true);
    const exported = await ok<{ records: number }>(
      'evidence',
      'export',
      release,
      '--out',
      'bundle.tar.gz',
    );
    expect(exported.records).toBeGreaterThan(5);

    // The auditor's directory: the bundle and the two keys, obtained out of band.
    await copyFile(join(world.dir, 'bundle.tar.gz'), join(auditor.dir, 'bundle.tar.gz'));
    await copyFile(join(world.dir, 'data', 'log-verifier-key'), join(auditor.dir, 'log.vkey'));
    await copyFile(join(world.dir, 'keys', 'ci.pub'), join(auditor.dir, 'ci.pub'));
    await stopAgents();
    await world.server.close();

    const verify = (file: string): Promise<Ran> =>
      runIn(auditor.dir, process.execPath, [
        MAIN,
        'evidence',
        'verify',
        file,
        '--trust-log',
        'log.vkey',
        '--trust-build',
        'ci.pub',
        '--json',
      ]);
    const verified = await verify('bundle.tar.gz');
    expect(verified.stderr).toBe('');
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({
      release,
      outcome: 'completed',
      pack: world.digests['2.0.0'],
      records: exported.records,
    });
    // Every verdict of the release replays offline on the contexts the bundle carries.
    const { replay, contexts } = JSON.parse(verified.stdout) as {
      replay: { total: number; matching: number; mismatches: number; matchRate: number };
      contexts: number;
    };
    expect(contexts).toBeGreaterThan(0);
    expect(replay.total).toBeGreaterThan(0);
    expect(replay).toMatchObject({ matching: replay.total, mismatches: 0, matchRate: 1 });

    // One record edited: the actor of the release's request.
    const files = await readEvidenceBundle(await readFile(join(auditor.dir, 'bundle.tar.gz')));
    const [first] = [...files.keys()].filter((name) => name.endsWith('.dsse.json')).sort();
    const envelope = JSON.parse(Buffer.from(files.get(first ?? '') ?? []).toString()) as {
      payload: string;
    };
    const statement = Buffer.from(envelope.payload, 'base64').toString('utf8');
    const edited = statement.replace(/"reason":"v2"/, '"reason":"v2, approved by the CEO"');
    expect(edited).not.toBe(statement);
    files.set(
      first ?? '',
      canonicalBytes({ ...envelope, payload: Buffer.from(edited).toString('base64') }),
    );
    await writeFile(
      join(auditor.dir, 'edited.tar.gz'),
      await writeEvidenceBundle(files, ['contexts']),
    );
    const refused = await verify('edited.tar.gz');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`^RECORD_SIGNATURE_INVALID: ${first}: `));

    // One stored context edited: a stage's gate threshold, as if the rules had been looser.
    const original = await readEvidenceBundle(await readFile(join(auditor.dir, 'bundle.tar.gz')));
    const contextFiles = [...original.keys()].filter((name) => name.startsWith('contexts/'));
    const gated = contextFiles.find((name) =>
      Buffer.from(original.get(name) ?? [])
        .toString()
        .includes('"threshold":'),
    );
    expect(gated).toBeDefined();
    const loosened = Buffer.from(original.get(gated ?? '') ?? [])
      .toString()
      .replace(/"threshold":[0-9.e-]+/g, '"threshold":0.99');
    original.set(gated ?? '', Buffer.from(loosened));
    await writeFile(
      join(auditor.dir, 'replayed.tar.gz'),
      await writeEvidenceBundle(original, ['contexts']),
    );
    const mismatch = await verify('replayed.tar.gz');
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toMatch(/^REPLAY_MISMATCH: record \d+: Decision \d+ \(/);
    expect(mismatch.stderr).toContain('its context was changed');

    if (process.env['CI'] === 'true' || hasPython()) {
      const python = async (file: string): Promise<Ran> =>
        runIn(auditor.dir, 'python3', [
          VERIFY_PY,
          file,
          '--trust-log',
          'log.vkey',
          '--trust-build',
          'ci.pub',
        ]);
      const good = await python('bundle.tar.gz');
      expect(good.stdout + good.stderr).toMatch(/^ok: /);
      expect(good.code).toBe(0);
      const bad = await python('edited.tar.gz');
      expect(bad.stdout).toMatch(new RegExp(`^FAIL RECORD_SIGNATURE_INVALID: ${first}`));
      expect(bad.code).toBe(1);
    }
  }, 180_000);
});
