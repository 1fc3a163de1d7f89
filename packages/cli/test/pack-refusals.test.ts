import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSignature, createSignedManifest, writePackArchive } from '@lockgate/core';
import { exitOf, makeTempDir } from './cli-harness.ts';

/**
 * The same pack file, refused alike by `lockgate pack verify` and by the server, both real
 * processes; and a gzip bomb refused by both with their peak memory bounded.
 */

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const MIB = 1024 * 1024;
/** The inflated size of the bomb's one entry (1 GiB); its file is about 1 MiB. */
const BOMB_MIB = 1024;
/**
 * The peak a process may reach: its own start (about 100 MiB for `pack verify`, 170 MiB for
 * a server that answered a few pushes) with room to spare, and far below one inflated bomb.
 */
const PEAK_BOUND = 320 * MIB;
const PROCESS_TIMEOUT_MS = 60_000;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * A `--import` module that writes the process's peak resident set size (bytes) to `file`
 * when it exits: a measure of memory, not of time.
 */
function peakRecorder(file: string): string {
  const code = `import { writeFileSync } from 'node:fs';
process.on('exit', () => writeFileSync(${JSON.stringify(file)}, String(process.resourceUsage().maxRSS * 1024)));`;
  return `--import=data:text/javascript,${encodeURIComponent(code)}`;
}

async function peakOf(file: string): Promise<number> {
  return Number(await readFile(file, 'utf8'));
}

describe('pack files refused alike offline and by the server', () => {
  const adminToken = randomBytes(24).toString('hex');
  let temp: { dir: string; remove: () => Promise<void> };
  let server: ChildProcess | undefined;
  let serverLog = '';
  let url = '';

  /** `node packages/cli/src/main.ts ...args` as a child process, optionally recording its peak memory. */
  function lockgate(args: string[], peakFile?: string): Promise<Ran> {
    return new Promise((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [...(peakFile === undefined ? [] : [peakRecorder(peakFile)]), MAIN, ...args],
        {
          cwd: temp.dir,
          env: { ...process.env, LOCKGATE_SERVER: url, LOCKGATE_TOKEN: adminToken },
          stdio: ['ignore', 'pipe', 'pipe'],
          timeout: PROCESS_TIMEOUT_MS,
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  async function push(file: string): Promise<{ status: number; code: unknown }> {
    const response = await fetch(`${url}/api/v1/packs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/gzip' },
      body: await readFile(join(temp.dir, file)),
      signal: AbortSignal.timeout(PROCESS_TIMEOUT_MS),
    });
    const body = (await response.json()) as { code?: unknown };
    return { status: response.status, code: body.code };
  }

  beforeAll(async () => {
    temp = await makeTempDir('refusals');
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await writeFile(join(temp.dir, 'ci.pub'), publicKeyPem);

    // A correctly signed pack whose provenance records a failed gate; `pack build` refuses
    // to make one, so it is made with core functions: signed passing, then re-signed failing.
    const content = new TextEncoder().encode('{"claims":1}\n');
    const passing = createSignedManifest(
      {
        name: 'kb',
        version: '2.0.0',
        sequence: 20,
        files: [{ path: 'claims.json', bytes: content }],
        provenance: {
          buildId: 'b-fail',
          createdAt: '2026-11-22T10:00:00Z',
          gates: [{ name: 'tests', status: 'PASS' }],
        },
      },
      [privateKey],
    ).manifest;
    const failed = addSignature(
      {
        ...passing,
        provenance: { ...passing.provenance, gates: [{ name: 'tests', status: 'FAIL' }] },
        signatures: [],
      },
      privateKey,
    );
    const files = new Map([['claims.json', content]]);
    await writeFile(join(temp.dir, 'failed.pack'), await writePackArchive(failed, files));

    // The bomb: a correctly signed manifest that lists a 4-byte file, and a tar entry for it
    // that holds BOMB_MIB MiB of zeros, as gzip members of 1 MiB each.
    const small = createSignedManifest(
      {
        name: 'kb',
        version: '3.0.0',
        sequence: 30,
        files: [{ path: 'zeros', bytes: new TextEncoder().encode('zero') }],
        provenance: {
          buildId: 'b-bomb',
          createdAt: '2026-11-22T10:00:00Z',
          gates: [{ name: 'tests', status: 'PASS' }],
        },
      },
      [privateKey],
    ).manifest;
    await writeFile(join(temp.dir, 'bomb.pack'), await bombOf(small, 'zeros', BOMB_MIB));

    const peakFile = join(temp.dir, 'server-peak');
    server = spawn(
      process.execPath,
      [
        peakRecorder(peakFile),
        MAIN,
        'server',
        '--data',
        join(temp.dir, 'data'),
        '--port',
        '0',
        '--log-level',
        'warn',
      ],
      {
        cwd: temp.dir,
        env: { ...process.env, LOCKGATE_ADMIN_TOKEN: adminToken },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const child = server;
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no server in 30 s:\n${serverLog}`)), 30_000);
      const take = (chunk: Buffer): void => {
        serverLog += chunk.toString('utf8');
        const match = /listening on (http:\/\/\S+)/.exec(serverLog);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      child.stdout?.on('data', take);
      child.stderr?.on('data', take);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the server exited (${code}) before listening:\n${serverLog}`));
      });
    });
    const trusted = await fetch(`${url}/api/v1/trust/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ publicKeyPem, name: 'ci' }),
    });
    expect(trusted.status).toBe(201);
  });

  afterAll(async () => {
    if (server !== undefined) {
      server.kill('SIGKILL');
      await exitOf(server, 10_000);
    }
    await temp.remove();
  });

  it('refuses a signed pack whose build gate failed offline with the code the server gives', async () => {
    const pushed = await push('failed.pack');
    expect(pushed).toEqual({ status: 422, code: 'BUILD_GATE_FAILED' });
    const verified = await lockgate(['pack', 'verify', 'failed.pack', '--trust', 'ci.pub']);
    expect(verified.code).toBe(1);
    expect(verified.stdout).toBe('');
    expect(verified.stderr).toMatch(/^BUILD_GATE_FAILED: .*tests FAIL/);
    const json = await lockgate(['pack', 'verify', 'failed.pack', '--trust', 'ci.pub', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: pushed.code } });
  });

  it('refuses a gzip bomb in `pack verify` without inflating it in memory', async () => {
    const bomb = await readFile(join(temp.dir, 'bomb.pack'));
    expect(bomb.byteLength).toBeLessThan(2 * MIB);
    const peakFile = join(temp.dir, 'verify-peak');
    const verified = await lockgate(['pack', 'verify', 'bomb.pack', '--trust', 'ci.pub'], peakFile);
    expect(verified.code).toBe(1);
    expect(verified.stderr).toMatch(/^PACK_FILE_HASH_MISMATCH: /);
    expect(await peakOf(peakFile)).toBeLessThan(PEAK_BOUND);
  });

  it('refuses three gzip bombs pushed at once without inflating them in memory', async () => {
    const answers = await Promise.all([push('bomb.pack'), push('bomb.pack'), push('bomb.pack')]);
    expect(answers).toEqual(
      Array.from({ length: 3 }, () => ({ status: 422, code: 'PACK_FILE_HASH_MISMATCH' })),
    );
    const child = server;
    if (child === undefined) throw new Error('no server');
    child.kill('SIGTERM');
    expect(await exitOf(child, 10_000)).toBe(0);
    server = undefined;
    expect(await peakOf(join(temp.dir, 'server-peak'))).toBeLessThan(PEAK_BOUND);
  });
});

/**
 * A pack file whose manifest is `manifest` and whose entry for `path` holds `mebibytes` MiB
 * of zeros instead of the declared bytes: the tar header's size field is rewritten, and the
 * zeros are written as gzip members (1 MiB of zeros compresses to about 1 KiB).
 */
async function bombOf(
  manifest: Parameters<typeof writePackArchive>[0],
  path: string,
  mebibytes: number,
): Promise<Buffer> {
  const declared = new TextEncoder().encode('zero');
  const tar = Buffer.from(
    await writePackArchive(manifest, new Map([[path, declared]]), { gzip: false }),
  );
  // The last entry: its header, one block of data, then the 1024-byte end of the archive.
  const headerAt = tar.byteLength - 1024 - 512 - 512;
  const header = Buffer.from(tar.subarray(headerAt, headerAt + 512));
  expect(header.toString('utf8', 0, 100).replace(/\0.*$/s, '')).toBe(`files/${path}`);
  header.write(`${(mebibytes * MIB).toString(8).padStart(11, '0')}\0`, 124, 'ascii');
  header.fill(0x20, 148, 156);
  const sum = header.reduce((a, b) => a + b, 0);
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  const zeros = gzipSync(Buffer.alloc(MIB));
  return Buffer.concat([
    gzipSync(Buffer.concat([tar.subarray(0, headerAt), header])),
    ...Array.from({ length: mebibytes }, () => zeros),
    gzipSync(Buffer.alloc(1024)),
  ]);
}
