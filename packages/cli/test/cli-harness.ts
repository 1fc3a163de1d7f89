import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    untilShutdown: () => Promise.resolve('SIGTERM'),
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
