import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The repository root, from this file's place in bench/lib. */
export const ROOT = resolve(import.meta.dirname, '..', '..');

/** A child process serving HTTP on loopback, with its CPU and memory read from /proc. */
export interface ServedProcess {
  url: string;
  pid: number;
  /** CPU seconds (user + system) the process has used so far. */
  cpuSeconds(): number;
  /** Resident memory in MiB now. */
  rssMiB(): number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** The bare node:http server the figures are measured against, in its own process. */
export async function startBare(): Promise<ServedProcess> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bench', 'lib', 'bare-server.ts'), String(port)],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const url = `http://127.0.0.1:${port}`;
  await untilReady(`${url}/healthz`, child);
  return served(child, url, () => Promise.resolve());
}

export interface LockgateProcess extends ServedProcess {
  adminToken: string;
  dataDir: string;
  /** where the server keeps its data: its SQLite file, or its PostgreSQL database */
  database: { sqlitePath: string } | { postgresUrl: string };
}

export interface LockgateOptions {
  /** postgres://… to run on PostgreSQL (a fresh database is created and dropped); else SQLite. */
  postgresUrl?: string;
  logLevel?: string;
  controllerIntervalMs?: number;
  /** Extra environment for the server process. */
  env?: Record<string, string>;
  /** Another replica of this server: its database, data directory and admin token (kept). */
  replicaOf?: LockgateProcess;
}

/** A Lockgate server (`lockgate server`) in its own process on a fresh data directory. */
export async function startLockgate(options: LockgateOptions = {}): Promise<LockgateProcess> {
  const primary = options.replicaOf;
  const dataDir = primary?.dataDir ?? (await mkdtemp(join(tmpdir(), 'lockgate-bench-')));
  const port = await freePort();
  const adminToken = primary?.adminToken ?? randomBytes(24).toString('hex');
  let database: { url: string; drop: () => Promise<void> } | null = null;
  if (primary !== undefined) {
    if (!('postgresUrl' in primary.database)) throw new Error('replicas need PostgreSQL');
    database = { url: primary.database.postgresUrl, drop: () => Promise.resolve() };
  } else if (options.postgresUrl !== undefined) {
    database = await freshPostgres(options.postgresUrl);
  }
  const logFile = join(dataDir, primary === undefined ? 'server.log' : `server-${port}.log`);
  const log = openSync(logFile, 'a');
  const args = [
    join(ROOT, 'packages', 'cli', 'src', 'main.ts'),
    'server',
    '--data',
    dataDir,
    '--port',
    String(port),
    '--log-level',
    options.logLevel ?? 'info',
    '--controller-interval',
    String(options.controllerIntervalMs ?? 2000),
    ...(database === null ? [] : ['--db', database.url]),
  ];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', log, log],
    env: { ...process.env, ...options.env, LOCKGATE_ADMIN_TOKEN: adminToken },
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await untilReady(`${url}/healthz`, child, logFile);
  } catch (error) {
    child.kill('SIGKILL');
    if (primary === undefined) {
      await database?.drop();
      await rm(dataDir, { recursive: true, force: true });
    }
    throw error;
  }
  const base = served(child, url, async () => {
    if (primary !== undefined) return;
    await database?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });
  return {
    ...base,
    adminToken,
    dataDir,
    database:
      database === null
        ? { sqlitePath: join(dataDir, 'lockgate.db') }
        : { postgresUrl: database.url },
  };
}

function served(child: ChildProcess, url: string, cleanup: () => Promise<void>): ServedProcess {
  const pid = child.pid ?? 0;
  let stopping: Promise<void> | null = null;
  return {
    url,
    pid,
    cpuSeconds: () => cpuSecondsOf(pid),
    rssMiB: () => rssMiBOf(pid),
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((done) => child.once('exit', done));
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(timer);
        }
        await cleanup();
      })()),
  };
}

async function untilReady(url: string, child: ChildProcess, logFile?: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((done) => setTimeout(done, 50));
  }
  const log = logFile === undefined ? '' : readFileSync(logFile, 'utf8').slice(-2000);
  throw new Error(`The server at ${url} did not become ready (exit ${child.exitCode}).\n${log}`);
}

const CLOCK_TICKS = 100;

export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

export function rssMiBOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match === null ? Number.NaN : Number(match[1]) / 1024;
  } catch {
    return Number.NaN;
  }
}

/** A fresh PostgreSQL database next to the one `url` names, dropped afterwards. */
async function freshPostgres(url: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const { default: pg } = await import('pg');
  const name = `lockgate_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const target = new URL(url);
  target.pathname = `/${name}`;
  return {
    url: target.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
