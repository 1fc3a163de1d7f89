import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadServerConfig, startServer } from '@lockgate/server';
import type { RunningServer } from '@lockgate/server';
import { loadCliConfig } from '../src/config.ts';
import type { CliIo } from '../src/io.ts';
import { run } from '../src/program.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd: string;
  env?: Record<string, string>;
  now?: Date;
  fetch?: typeof fetch;
  /** when the command is asked to stop (default: at once) */
  untilShutdown?: () => Promise<string>;
}

/** Runs one `lockgate` command line in-process with captured output. */
export async function runCli(args: string[], options: RunOptions): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    cwd: options.cwd,
    now: () => options.now ?? new Date('2026-11-23T10:00:00.000Z'),
    fetch: options.fetch ?? globalThis.fetch,
    untilShutdown: options.untilShutdown ?? (() => Promise.resolve('SIGTERM')),
  };
  const code = await run(args, io, loadCliConfig(options.env ?? {}));
  return { code, stdout, stderr };
}

/** The JSON document a `--json` command printed. */
export function jsonOf<T = Record<string, unknown>>(result: CliResult): T {
  return JSON.parse(result.stdout) as T;
}

export async function makeTempDir(
  prefix: string,
): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `lockgate-${prefix}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * A real server (in-process, its own data directory and admin token) and a CLI pointed at it,
 * with a trusted build key `keys/ci.key` and the `kb` packs of the given versions built and
 * pushed (sequence = their position, from 1 unless `firstSequence` says otherwise).
 */
export interface CliWorld {
  dir: string;
  server: RunningServer;
  adminToken: string;
  /** digest of each pushed `kb` version */
  digests: Record<string, string>;
  lockgate(...args: string[]): Promise<CliResult>;
  /** Runs a command that must succeed with `--json` and returns its document. */
  ok<T>(...args: string[]): Promise<T>;
  close(): Promise<void>;
}

export async function createCliWorld(options: {
  prefix: string;
  versions: readonly string[];
  firstSequence?: number;
  controllerInterval?: number;
}): Promise<CliWorld> {
  const adminToken = randomBytes(24).toString('hex');
  const temp = await makeTempDir(options.prefix);
  await mkdir(join(temp.dir, 'src'));
  const config = loadServerConfig(
    {
      data: join(temp.dir, 'data'),
      port: 0,
      logLevel: 'silent',
      controllerInterval: options.controllerInterval ?? 20,
    },
    { LOCKGATE_ADMIN_TOKEN: adminToken },
  );
  const server = await startServer(config);
  const lockgate = (...args: string[]): Promise<CliResult> =>
    runCli(args, {
      cwd: temp.dir,
      env: { LOCKGATE_SERVER: server.url, LOCKGATE_TOKEN: adminToken },
      now: new Date(),
    });
  const ok = async <T>(...args: string[]): Promise<T> => {
    const result = await lockgate(...args, '--json');
    if (result.code !== 0 || result.stderr !== '') {
      throw new Error(`lockgate ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    }
    return JSON.parse(result.stdout) as T;
  };
  await ok('keys', 'generate', '--out', 'keys', '--name', 'ci');
  await ok('trust', 'add', 'keys/ci.pub', '--name', 'ci');
  const digests: Record<string, string> = {};
  let sequence = options.firstSequence ?? 1;
  for (const version of options.versions) {
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
    sequence += 1;
  }
  return {
    dir: temp.dir,
    server,
    adminToken,
    digests,
    lockgate,
    ok,
    async close() {
      await server.close();
      await temp.remove();
    },
  };
}

/** Waits for a child to exit, or kills it after the bound; its exit code. */
export function exitOf(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve(child.exitCode);
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** A loopback port free right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
