import { spawn } from 'node:child_process';

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
