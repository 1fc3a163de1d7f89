import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitOf, freePort, makeTempDir } from './cli-harness.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const COMMAND_TIMEOUT_MS = 20_000;
const STARTUP_TIMEOUT_MS = 15_000;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('lockgate end to end against a real server', () => {
  const adminToken = randomBytes(24).toString('hex');
  let temp: { dir: string; remove: () => Promise<void> };
  let server: ChildProcess | undefined;
  let serverLog = '';
  let url = '';

  /** Runs `node packages/cli/src/main.ts ...args` as a child process with the server's URL and token. */
  function lockgate(...args: string[]): Promise<Ran> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [MAIN, ...args], {
        cwd: temp.dir,
        env: { ...process.env, LOCKGATE_SERVER: url, LOCKGATE_TOKEN: adminToken },
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: COMMAND_TIMEOUT_MS,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  function jsonOf<T>(ran: Ran): T {
    expect(ran.stderr, `stderr of a successful command`).toBe('');
    expect(ran.code).toBe(0);
    return JSON.parse(ran.stdout) as T;
  }

  function buildPack(out: string, key: string, buildId: string, ...extra: string[]) {
    return lockgate(
      'pack',
      'build',
      'src',
      '--name',
      'kb',
      '--key',
      key,
      '--build-id',
      buildId,
      '--gate',
      'tests=PASS',
      '--gate',
      'lint=PASS',
      '--out',
      out,
      '--json',
      ...extra,
    );
  }

  beforeAll(async () => {
    temp = await makeTempDir('e2e');
    await mkdir(join(temp.dir, 'src', 'data'), { recursive: true });
    await writeFile(join(temp.dir, 'src', 'index.json'), '{"entries": 1}\n');
    await writeFile(join(temp.dir, 'src', 'data', 'a.txt'), 'alpha\n');

    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const child = spawn(
      process.execPath,
      [
        MAIN,
        'server',
        '--data',
        join(temp.dir, 'data'),
        '--port',
        String(port),
        '--log-level',
        'warn',
      ],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, LOCKGATE_ADMIN_TOKEN: adminToken },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    server = child;
    child.stdout.on('data', (chunk: Buffer) => (serverLog += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (serverLog += chunk.toString('utf8')));

    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null) {
        throw new Error(`the server exited with ${child.exitCode}:\n${serverLog}`);
      }
      const healthy = await fetch(`${url}/healthz`)
        .then(async (response) => response.ok && (await response.json()) !== null)
        .catch(() => false);
      if (healthy) {
        break;
      }
      if (Date.now() > deadline) {
        throw new Error(`the server did not answer /healthz within 15 s:\n${serverLog}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  afterAll(async () => {
    if (server !== undefined) {
      server.kill('SIGTERM');
      await exitOf(server, 10_000);
    }
    await temp.remove();
  });

  let aliceKeyId = '';
  let digest = '';

  it('generates keys, builds a pack and verifies it offline', async () => {
    const alice = jsonOf<{ keyId: string }>(
      await lockgate('keys', 'generate', '--out', 'keys', '--name', 'alice', '--json'),
    );
    aliceKeyId = alice.keyId;
    jsonOf(await lockgate('keys', 'generate', '--out', 'keys', '--name', 'mallory', '--json'));

    const built = jsonOf<{ digest: string; name: string; version: string }>(
      await buildPack(
        'kb.pack',
        'keys/alice.key',
        'b-100',
        '--version',
        '1.4.0',
        '--sequence',
        '14',
      ),
    );
    expect(built).toMatchObject({ name: 'kb', version: '1.4.0' });
    digest = built.digest;

    const verified = jsonOf<{ digest: string; signedBy: string[] }>(
      await lockgate('pack', 'verify', 'kb.pack', '--trust', 'keys/alice.pub', '--json'),
    );
    expect(verified).toMatchObject({ digest, signedBy: [aliceKeyId] });
  });

  it('trusts the key, pushes the pack, and pushing again is idempotent', async () => {
    const trusted = jsonOf<{ key: { keyId: string; name: string } }>(
      await lockgate('trust', 'add', 'keys/alice.pub', '--name', 'alice', '--json'),
    );
    expect(trusted.key).toMatchObject({ keyId: aliceKeyId, name: 'alice' });

    const first = jsonOf<{ digest: string; created: boolean; sequence: number }>(
      await lockgate('pack', 'push', 'kb.pack', '--json'),
    );
    expect(first).toMatchObject({ digest, created: true, sequence: 14 });

    const again = jsonOf<{ digest: string; created: boolean }>(
      await lockgate('pack', 'push', 'kb.pack', '--json'),
    );
    expect(again).toMatchObject({ digest, created: false });
  });

  it('lists and shows the pushed pack by name@version and by digest', async () => {
    const listed = jsonOf<{ items: { digest: string }[] }>(
      await lockgate('pack', 'list', '--name', 'kb', '--json'),
    );
    expect(listed.items.map((item) => item.digest)).toEqual([digest]);

    const byName = jsonOf<{ pack: { digest: string }; manifest: { files: { path: string }[] } }>(
      await lockgate('pack', 'show', 'kb@1.4.0', '--json'),
    );
    expect(byName.pack.digest).toBe(digest);
    expect(byName.manifest.files.map((file) => file.path)).toEqual(['data/a.txt', 'index.json']);

    const byDigest = jsonOf<{ pack: { name: string } }>(
      await lockgate('pack', 'show', digest, '--json'),
    );
    expect(byDigest.pack.name).toBe('kb');
  });

  it('refuses a pack signed by a key the server does not trust', async () => {
    jsonOf(await buildPack('mallory.pack', 'keys/mallory.key', 'b-101', '--version', '1.5.0'));
    const refused = await lockgate('pack', 'push', 'mallory.pack', '--json');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^PACK_SIGNER_UNTRUSTED: /);
    expect(JSON.parse(refused.stdout)).toMatchObject({ error: { code: 'PACK_SIGNER_UNTRUSTED' } });
  });

  it('refuses a pack whose build was reported failed', async () => {
    const reported = jsonOf<{ build: { id: string; status: string } }>(
      await lockgate('build', 'report', '--id', 'b-200', '--gate', 'tests=FAIL', '--json'),
    );
    expect(reported.build).toMatchObject({ id: 'b-200', status: 'failed' });

    const failedBuilds = jsonOf<{ items: { id: string }[] }>(
      await lockgate('build', 'list', '--status', 'failed', '--json'),
    );
    expect(failedBuilds.items.map((build) => build.id)).toContain('b-200');

    jsonOf(await buildPack('claims-pass.pack', 'keys/alice.key', 'b-200', '--version', '1.6.0'));
    const refused = await lockgate('pack', 'push', 'claims-pass.pack');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^BUILD_GATE_FAILED: /);

    const listed = jsonOf<{ items: { version: string }[] }>(
      await lockgate('pack', 'list', '--name', 'kb', '--json'),
    );
    expect(listed.items.map((item) => item.version)).toEqual(['1.4.0']);
  });

  it('stops cleanly on SIGTERM', async () => {
    const child = server;
    expect(child).toBeDefined();
    child?.kill('SIGTERM');
    expect(await exitOf(child as ChildProcess, 10_000)).toBe(0);
    expect(serverLog).not.toMatch(/ExperimentalWarning/);
  });
});
