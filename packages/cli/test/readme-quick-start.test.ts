import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readdir, readFile, symlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import * as prettier from 'prettier';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitOf, freePort, makeTempDir } from './cli-harness.ts';

/**
 * The README's two quick starts, run as written: the first ```sh block under "Quick start:
 * build, verify and push a pack" and the first under "Quick start: a release", one after the
 * other in one bash, against a real server process started like `npm start` (data in
 * ./.lockgate, generated admin token). Only two things differ from a terminal at the repository
 * root: the server listens on a free port instead of 7070 (the text `127.0.0.1:7070` is replaced),
 * and `npx lockgate` is this checkout's `node packages/cli/src/main.ts`. The working directory
 * is a temporary one with `examples` linked to the repository's. Every process is bounded and
 * killed at the end (the agents run in the script's process group).
 */

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
/** Bound on the whole quick start (two releases of two 10 s stages each); not an assertion. */
const SCRIPT_TIMEOUT_MS = 240_000;
const STARTUP_TIMEOUT_MS = 20_000;

/** The first ```sh block after the heading `## title`. */
export function quickStartBlock(readme: string, title: string): string {
  const heading = readme.indexOf(`\n## ${title}\n`);
  if (heading < 0) throw new Error(`README has no section "${title}"`);
  const open = readme.indexOf('\n```sh\n', heading);
  const next = readme.indexOf('\n## ', heading + 1);
  if (open < 0 || (next >= 0 && open > next)) throw new Error(`"${title}" has no sh block`);
  const close = readme.indexOf('\n```\n', open + 1);
  return readme.slice(open + '\n```sh\n'.length, close + 1);
}

async function filesUnder(dir: string, skip: ReadonlySet<string>): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const path = relative(dir, join(entry.parentPath, entry.name));
    if (skip.has(path.split('/')[0] ?? '')) continue;
    if (entry.isFile()) found.push(path);
  }
  return found.sort();
}

function gitIgnores(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('git', ['check-ignore', '-q', '--no-index', path], { cwd: REPO_ROOT }, (error) =>
      resolve(error === null),
    );
  });
}

describe('the README quick starts, as written', () => {
  let temp: { dir: string; remove: () => Promise<void> };
  let server: ChildProcess | undefined;
  let script: ChildProcess | undefined;
  let serverLog = '';
  let url = '';

  beforeAll(async () => {
    temp = await makeTempDir('quick-start');
    await symlink(join(REPO_ROOT, 'examples'), join(temp.dir, 'examples'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const env = { ...process.env };
    delete env['LOCKGATE_ADMIN_TOKEN'];
    delete env['LOCKGATE_SERVER'];
    delete env['LOCKGATE_TOKEN'];
    server = spawn(process.execPath, [MAIN, 'server', '--port', String(port)], {
      cwd: temp.dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout?.on('data', (chunk: Buffer) => (serverLog += chunk.toString('utf8')));
    server.stderr?.on('data', (chunk: Buffer) => (serverLog += chunk.toString('utf8')));
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    for (;;) {
      if (server.exitCode !== null) throw new Error(`the server exited:\n${serverLog}`);
      const healthy = await fetch(`${url}/healthz`)
        .then((response) => response.ok)
        .catch(() => false);
      if (healthy) break;
      if (Date.now() > deadline) throw new Error(`the server did not start:\n${serverLog}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  afterAll(async () => {
    if (script?.pid !== undefined) {
      try {
        process.kill(-script.pid, 'SIGTERM');
      } catch {
        // the group has ended already
      }
    }
    if (server !== undefined) {
      server.kill('SIGTERM');
      await exitOf(server, 10_000);
    }
    // Agents left in the script's group after SIGTERM, if any.
    if (script?.pid !== undefined) {
      try {
        process.kill(-script.pid, 'SIGKILL');
      } catch {
        // nothing left
      }
    }
    await temp?.remove();
  });

  it(
    'finish: both releases complete and every command exits 0',
    async () => {
      const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
      const blocks = [
        quickStartBlock(readme, 'Quick start: build, verify and push a pack'),
        quickStartBlock(readme, 'Quick start: a release'),
      ];
      expect(blocks[0]).toContain('127.0.0.1:7070');
      const text = [
        'set -euo pipefail',
        'npx() {',
        '  if [ "$1" = lockgate ]; then shift; "$QUICK_START_NODE" "$QUICK_START_MAIN" "$@";',
        '  else echo "unexpected: npx $*" >&2; return 127; fi',
        '}',
        ...blocks.map((block) => block.replaceAll('127.0.0.1:7070', url.slice('http://'.length))),
      ].join('\n');
      let stdout = '';
      let stderr = '';
      const child = spawn('bash', ['-c', text], {
        cwd: temp.dir,
        env: { ...process.env, QUICK_START_NODE: process.execPath, QUICK_START_MAIN: MAIN },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      script = child;
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      const code = await exitOf(child, SCRIPT_TIMEOUT_MS);
      expect(code, `quick start output:\n${stdout}\n${stderr}\nserver:\n${serverLog}`).toBe(0);
      const completed = stdout.match(/^release rel_\S+ {2}completed$/gm) ?? [];
      expect(completed).toHaveLength(2);
      expect(stdout).toMatch(/^rel_\S+ {2}prod-eu\/stable {2}completed .*\(site@1\.1\.0\)/m);
      expect(stdout).toMatch(/^rel_\S+ {2}prod-eu\/stable {2}completed .*\(site@1\.0\.0\)/m);
    },
    SCRIPT_TIMEOUT_MS + 30_000,
  );

  it('leaves only files that git, prettier and eslint ignore at the repository root', async () => {
    const created = await filesUnder(temp.dir, new Set(['.lockgate', 'examples']));
    expect(created).toEqual(
      expect.arrayContaining([
        'keys/build.key',
        'site/index.txt',
        'site-1.0.0.pack',
        'site-1.1.0.pack',
        'server-index.pub',
      ]),
    );
    expect(created.some((path) => path.startsWith('agent-1/'))).toBe(true);
    const eslint = new ESLint({ cwd: REPO_ROOT });
    const ignorePath = join(REPO_ROOT, '.prettierignore');
    for (const path of created) {
      const atRoot = join(REPO_ROOT, path);
      expect(await gitIgnores(path), `git ignores ${path}`).toBe(true);
      expect(
        (await prettier.getFileInfo(atRoot, { ignorePath })).ignored,
        `prettier: ${path}`,
      ).toBe(true);
      expect(await eslint.isPathIgnored(atRoot), `eslint ignores ${path}`).toBe(true);
    }
  });
});
