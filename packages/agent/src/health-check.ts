import { spawn } from 'node:child_process';
import type { Digest } from '@lockgate/core';
import { aborted, sleep } from './agent-loops.ts';
import type { Observation } from './agent-machine.ts';

/** `{url}`: healthy when a GET answers HTTP 200 in time. `{cmd}`: when the shell command exits 0 in time. */
export type HealthCheckSpec =
  { url: string; timeoutMs?: number } | { cmd: string; timeoutMs?: number };

export interface HealthCheckResult {
  ok: boolean;
  detail: string;
}

export const DEFAULT_HEALTH_TIMEOUT_MS = 5_000;

/** Runs one health check. Never throws: a failure to run is an unhealthy result. */
export async function runHealthCheck(
  spec: HealthCheckSpec,
  context: { fetch: typeof fetch; env: Record<string, string>; signal?: AbortSignal },
): Promise<HealthCheckResult> {
  const timeoutMs = spec.timeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS;
  if ('url' in spec) return checkUrl(spec.url, timeoutMs, context.fetch, context.signal);
  return checkCommand(spec.cmd, timeoutMs, context.env, context.signal);
}

async function checkUrl(
  url: string,
  timeoutMs: number,
  fetchImpl: typeof fetch,
  signal: AbortSignal | undefined,
): Promise<HealthCheckResult> {
  const signals = [AbortSignal.timeout(timeoutMs)];
  if (signal !== undefined) signals.push(signal);
  try {
    const response = await fetchImpl(url, {
      signal: AbortSignal.any(signals),
      headers: { accept: '*/*' },
    });
    await response.body?.cancel();
    return response.status === 200
      ? { ok: true, detail: `GET ${url} answered 200` }
      : { ok: false, detail: `GET ${url} answered ${response.status}` };
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    return {
      ok: false,
      detail:
        name === 'TimeoutError'
          ? `GET ${url} did not answer within ${timeoutMs} ms`
          : `GET ${url} failed: ${reasonOf(error)}`,
    };
  }
}

function checkCommand(
  cmd: string,
  timeoutMs: number,
  env: Record<string, string>,
  signal: AbortSignal | undefined,
): Promise<HealthCheckResult> {
  return new Promise((resolve) => {
    // Its own process group, so a timeout ends the shell and whatever it started.
    const child = spawn('/bin/sh', ['-c', cmd], {
      env: { ...process.env, ...env },
      stdio: 'ignore',
      detached: true,
    });
    let settled = false;
    const finish = (result: HealthCheckResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const kill = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      kill();
      finish({ ok: false, detail: `\`${cmd}\` did not finish within ${timeoutMs} ms` });
    }, timeoutMs);
    const onAbort = (): void => {
      kill();
      finish({ ok: false, detail: `\`${cmd}\` was stopped` });
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error) => {
      finish({ ok: false, detail: `\`${cmd}\` did not start: ${reasonOf(error)}` });
    });
    child.on('exit', (code, exitSignal) => {
      finish(
        code === 0
          ? { ok: true, detail: `\`${cmd}\` exited 0` }
          : {
              ok: false,
              detail: `\`${cmd}\` ${code === null ? `ended by ${exitSignal ?? 'a signal'}` : `exited ${code}`}`,
            },
      );
    });
  });
}

function reasonOf(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth += 1) {
    const code = (current as Error & { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = current.cause;
  }
  return error instanceof Error ? error.message : String(error);
}

/** A health check of the pack `current` serves, with what the command is told of it. */
export interface PackHealthCheck {
  spec: HealthCheckSpec | null;
  fetch: typeof fetch;
  /** the `current` link */
  packDir: string;
  pack: Digest | null;
  targetId: string;
}

export function checkPackHealth(
  check: PackHealthCheck,
  signal: AbortSignal | undefined,
): Promise<HealthCheckResult> {
  if (check.spec === null) {
    return Promise.resolve({ ok: true, detail: 'no health check configured' });
  }
  const env = {
    LOCKGATE_PACK_DIR: check.packDir,
    LOCKGATE_PACK: check.pack ?? '',
    LOCKGATE_TARGET_ID: check.targetId,
  };
  return runHealthCheck(check.spec, { fetch: check.fetch, env, signal });
}

/** One check of a trial, after `afterMs`: its result, or `interrupted` when stop() came first. */
export async function trialHealthCheck(
  check: () => PackHealthCheck,
  afterMs: number,
  signal: AbortSignal | undefined,
): Promise<Extract<Observation, { type: 'health-ok' | 'health-failed' | 'interrupted' }>> {
  if (afterMs > 0) await sleep(afterMs, signal);
  if (aborted(signal)) return { type: 'interrupted' };
  const result = await checkPackHealth(check(), signal);
  // A check cut short by stop() says nothing about the pack.
  if (aborted(signal)) return { type: 'interrupted' };
  return { type: result.ok ? 'health-ok' : 'health-failed', detail: result.detail };
}
