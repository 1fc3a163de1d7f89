import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitOf, makeTempDir, runCli } from './cli-harness.ts';
import type { CliResult } from './cli-harness.ts';

const CLI_MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const ADMIN_TOKEN = 'witness-e2e-admin-token-0123456789abcdef';
const WITNESS = 'witness.test/w1';

interface Proc {
  child: ChildProcess;
  output(): string;
}

function spawnCli(args: readonly string[]): Proc {
  const child = spawn(process.execPath, [CLI_MAIN, ...args], {
    env: { ...process.env, LOCKGATE_ADMIN_TOKEN: ADMIN_TOKEN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  return { child, output: () => output };
}

/** `lockgate server` as a child process; resolves with its URL once it listens (≤ 30 s). */
async function startServer(dataDir: string): Promise<Proc & { url: string }> {
  const proc = spawnCli(['server', '--data', dataDir, '--port', '0', '--log-level', 'warn']);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no server:\n${proc.output()}`)), 30_000);
    const check = (): void => {
      const match = /listening on (http:\/\/\S+)/.exec(proc.output());
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    proc.child.stdout?.on('data', check);
    proc.child.once('exit', () => reject(new Error(`server exited:\n${proc.output()}`)));
  });
  return { ...proc, url };
}

async function stop(proc: Proc | undefined): Promise<void> {
  if (proc === undefined) return;
  proc.child.kill('SIGTERM');
  await exitOf(proc.child, 10_000);
}

/** Polls until the check holds (bounded; no timing is asserted). */
async function eventually(check: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('a witness process against a server process', () => {
  let temp: { dir: string; remove: () => Promise<void> };
  let server: (Proc & { url: string }) | undefined;
  let witness: Proc | undefined;
  const data = (): string => join(temp.dir, 'data');

  const lockgate = (...args: string[]): Promise<CliResult> =>
    runCli(args, {
      cwd: temp.dir,
      env: { LOCKGATE_SERVER: server?.url ?? '', LOCKGATE_TOKEN: ADMIN_TOKEN },
      now: new Date(),
    });

  const addRecords = async (prefix: string, count: number): Promise<void> => {
    for (let i = 0; i < count; i++) {
      const result = await lockgate('token', 'create', `${prefix}-${i}`, '--json');
      expect(result.code, result.stderr).toBe(0);
    }
  };

  const checkpointText = async (): Promise<string> => {
    const response = await fetch(`${server?.url}/api/v1/log/checkpoint`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    return response.text();
  };

  beforeAll(async () => {
    temp = await makeTempDir('witness-e2e');
    server = await startServer(data());
  }, 60_000);

  afterAll(async () => {
    await stop(witness);
    await stop(server);
    await temp?.remove();
  });

  it('cosigns each new checkpoint it proves consistent, and log verify checks the whole log', async () => {
    const keygen = await lockgate('witness', 'keygen', '--name', WITNESS, '--out', 'w1.key');
    expect(keygen.code, keygen.stderr).toBe(0);
    await appendFile(join(data(), 'log-witnesses'), await readFile(join(temp.dir, 'w1.key.pub')));
    await addRecords('first', 3);

    witness = spawnCli([
      'witness',
      '--server',
      server!.url,
      '--token',
      ADMIN_TOKEN,
      '--key',
      join(temp.dir, 'w1.key'),
      '--state',
      join(temp.dir, 'witness-state'),
      '--log-key',
      join(data(), 'log-verifier-key'),
      '--interval-ms',
      '200',
    ]);
    const cosignedSize = async (): Promise<number> => {
      const note = await checkpointText();
      const size = Number(note.split('\n')[1]);
      return note.includes(`\u2014 ${WITNESS} `) ? size : -1;
    };
    await eventually(async () => (await cosignedSize()) >= 3, 'a first cosignature');
    const first = await cosignedSize();
    await addRecords('second', 4);
    await eventually(
      async () => (await cosignedSize()) >= first + 4,
      'a cosignature of the grown log',
    );
    expect(witness.output()).not.toContain('LOG_SPLIT_VIEW');

    const verified = await lockgate(
      'log',
      'verify',
      '--log-key',
      join(data(), 'log-verifier-key'),
      '--json',
    );
    expect(verified.code, verified.stderr).toBe(0);
    const figures = JSON.parse(verified.stdout) as {
      entries: number;
      checkpoints: number;
      cosignatures: number;
    };
    expect(figures.entries).toBeGreaterThanOrEqual(first + 4);
    expect(figures.checkpoints).toBeGreaterThanOrEqual(2);
    expect(figures.cosignatures).toBe(1);
    await stop(witness);
    witness = undefined;
  }, 120_000);

  it('detects a log rewritten behind its back and never cosigns it', async () => {
    const before = await checkpointText();
    await stop(server);
    // An operator with database access rewrites history: edits the first record and rebuilds
    // the log from the edited records, with no checkpoint left that would betray it.
    const db = new DatabaseSync(join(data(), 'lockgate.db'));
    db.exec(`update decision_records set reason = 'rewritten' where seq = 1;
      delete from log_entries; delete from log_nodes; delete from log_checkpoints;
      delete from log_cosignatures; update log_head set size = 0, range_json = '[]';`);
    db.close();
    server = await startServer(data());
    await addRecords('third', 1); // the next append logs every record again, from the edited one
    const after = await checkpointText();
    expect(Number(after.split('\n')[1])).toBeGreaterThan(Number(before.split('\n')[1]));

    const once = spawnCli([
      'witness',
      '--once',
      '--server',
      server.url,
      '--token',
      ADMIN_TOKEN,
      '--key',
      join(temp.dir, 'w1.key'),
      '--state',
      join(temp.dir, 'witness-state'),
      '--log-key',
      join(data(), 'log-verifier-key'),
    ]);
    expect(await exitOf(once.child, 30_000)).toBe(1);
    expect(once.output()).toContain('LOG_SPLIT_VIEW');
    expect(await checkpointText()).not.toContain(`\u2014 ${WITNESS} `);
  }, 120_000);
});
