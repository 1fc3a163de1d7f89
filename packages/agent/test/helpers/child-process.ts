import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AgentEventMap, AgentOptions } from '../../src/index.ts';

const CHILD = fileURLToPath(new URL('./agent-child.ts', import.meta.url));

export interface ChildRun {
  child: ChildProcess;
  /** resolves when the child printed `ready` */
  ready: Promise<void>;
  /** resolves with the exit code and signal, and everything the child printed */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>;
}

/**
 * Starts `agent-child.ts` with these options (and `nodeArgs` before the script, such as an
 * `--import`); it is SIGKILLed if it outlives `boundMs`.
 */
export function runChild(
  options: AgentOptions,
  dieOn?: keyof AgentEventMap,
  boundMs = 20_000,
  nodeArgs: readonly string[] = [],
): ChildRun {
  const child = spawn(process.execPath, [...nodeArgs, CHILD, JSON.stringify({ options, dieOn })], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.includes('ready\n')) markReady();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const bound = setTimeout(() => child.kill('SIGKILL'), boundMs);
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    output: string;
  }>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(bound);
      markReady();
      resolve({ code, signal, output });
    });
  });
  return { child, ready, exited };
}
