import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TargetAttempt } from '@lockgate/core';
import type { ReleaseView } from '../../src/features/releases/release-service.ts';
import type { TestPack } from './packs.ts';
import type { TestDatabase } from './test-database.ts';

/** The `lockgate` command, run from its TypeScript source by the Node that runs the tests. */
export const CLI_MAIN = fileURLToPath(new URL('../../../cli/src/main.ts', import.meta.url));

export const PROCESS_ADMIN_TOKEN = 'crash-test-admin-token-0123456789';

/** A health gate the healthy fleet passes within seconds: error rate ≤ 5% over 5 s. */
export const QUICK_ERROR_GATE = {
  metric: 'error_rate',
  op: '<=',
  threshold: 0.05,
  windowSeconds: 5,
  minTargets: 1,
  minSamples: 1,
};

export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  /** stdout and stderr so far, for failure messages */
  output(): string;
  /** SIGKILL (kill -9), and waits until the process is gone. */
  kill(): Promise<void>;
}

/** Starts `lockgate server` as a child process and waits until it listens (at most 30 s). */
export async function startServerProcess(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    [CLI_MAIN, 'server', '--port', '0', '--log-level', 'warn', ...args],
    {
      env: { ...process.env, LOCKGATE_ADMIN_TOKEN: PROCESS_ADMIN_TOKEN, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the server did not start in 30 s:\n${output}`)),
        30_000,
      );
      const check = (): void => {
        const match = /listening on (http:\/\/\S+)/.exec(output);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      child.stdout?.on('data', check);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the server exited (${code ?? signal}) before listening:\n${output}`));
      });
    });
    if (child.pid === undefined) throw new Error('no pid');
    return { url, pid: child.pid, output: () => output, kill };
  } catch (error) {
    await kill();
    throw error;
  }
}

export interface HttpAnswer<T> {
  status: number;
  body: T;
}

/** JSON calls to a running server with the admin token. */
export function apiOf(url: () => string) {
  return async <T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<HttpAnswer<T>> => {
    const response = await fetch(`${url()}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${PROCESS_ADMIN_TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    return { status: response.status, body: (text === '' ? {} : JSON.parse(text)) as T };
  };
}

/**
 * A server process on a PostgreSQL test database and its data directory, as every replica of
 * one deployment shares them; `args` are further flags.
 */
export async function startReplica(
  testDatabase: TestDatabase,
  ...args: string[]
): Promise<ServerProcess> {
  const { database } = testDatabase.config;
  if (database.dialect !== 'postgres') throw new Error('replicas need PostgreSQL');
  return startServerProcess(['--data', testDatabase.dataDir, '--db', database.url, ...args]);
}

/** Creates releases in prod/stable and reads them back, through `api`. */
export function releaseCalls(api: ReturnType<typeof apiOf>, reason: string) {
  return {
    create: async (pack: string, plan: string): Promise<string> => {
      const created = await api<{ release: ReleaseView }>('POST', '/releases', {
        env: 'prod',
        channel: 'stable',
        pack,
        plan,
        reason,
      });
      if (created.status !== 201) {
        throw new Error(
          `POST /releases answered ${created.status}: ${JSON.stringify(created.body)}`,
        );
      }
      return created.body.release.id;
    },
    stateOf: async (id: string): Promise<ReleaseView> =>
      (await api<{ release: ReleaseView }>('GET', `/releases/${id}`)).body.release,
  };
}

export async function pushPack(url: string, pack: TestPack): Promise<void> {
  const response = await fetch(`${url}/api/v1/packs`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${PROCESS_ADMIN_TOKEN}`,
      'content-type': 'application/gzip',
    },
    body: pack.bytes,
  });
  if (response.status !== 201) throw new Error(`push: ${await response.text()}`);
}

/** Polls `check` every 50 ms until it returns a value, or fails after `ms`. */
export async function eventually<T>(
  what: string,
  ms: number,
  check: () => Promise<T | null | undefined>,
): Promise<T> {
  const deadline = performance.now() + ms;
  let lastError: unknown = null;
  while (performance.now() < deadline) {
    try {
      const value = await check();
      if (value !== null && value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`, { cause: lastError });
}

/** What simulated agents run and last attempted, by target id. */
export interface SimulatedAgents {
  running: Map<string, string | null>;
  attempts: Map<string, TargetAttempt>;
}

export function simulatedAgents(): SimulatedAgents {
  return { running: new Map(), attempts: new Map() };
}

/**
 * One round of a simulated agent: asks what to run, "activates" it when it changed, and reports
 * `health`; answers the report's answer (throws what the calls throw).
 */
export async function agentRound(
  api: ReturnType<typeof apiOf>,
  agents: SimulatedAgents,
  id: string,
  health: Record<string, unknown>,
): Promise<HttpAnswer<Record<string, unknown>>> {
  const { running, attempts } = agents;
  const desired = await api<{ pack: string | null }>('GET', `/targets/${id}/desired`);
  const want = desired.body.pack;
  if (desired.status === 200 && want !== null && want !== running.get(id)) {
    running.set(id, want);
    attempts.set(id, { kind: 'activate', pack: want, result: 'ok', at: new Date().toISOString() });
  }
  const attempt = attempts.get(id);
  return api('POST', `/targets/${id}/reports`, {
    activePack: running.get(id) ?? null,
    ...(attempt === undefined ? {} : { lastAttempt: attempt }),
    health,
  });
}

/**
 * Simulated agents in real time: every `everyMs` each target asks the current server (urls()
 * may change as servers die and start) what to run, activates it, and reports healthy traffic.
 * Failed calls (a server being killed) are ignored.
 */
export function healthyFleet(
  urls: () => readonly string[],
  ids: readonly string[],
  everyMs = 200,
): { stop(): Promise<void> } {
  const agents = simulatedAgents();
  let stopped = false;
  let round = 0;
  const loop = (async () => {
    while (!stopped) {
      const servers = urls();
      for (const id of ids) {
        const server = servers[round % Math.max(1, servers.length)];
        round += 1;
        if (server === undefined || stopped) continue;
        try {
          await agentRound(
            apiOf(() => server),
            agents,
            id,
            { requests: 20, errors: 0 },
          );
        } catch {
          // The server is down or restarting: try again next round.
        }
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
