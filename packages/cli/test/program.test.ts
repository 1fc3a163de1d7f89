import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonOf, makeTempDir, runCli } from './cli-harness.ts';

describe('lockgate command line', () => {
  let temp: { dir: string; remove: () => Promise<void> };

  beforeAll(async () => {
    temp = await makeTempDir('program');
  });

  afterAll(async () => {
    await temp.remove();
  });

  const lockgate = (...args: string[]) => runCli(args, { cwd: temp.dir });

  it('prints help and exits 0 with --help', async () => {
    const result = await lockgate('--help');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Usage: lockgate/);
    expect(result.stdout).toMatch(/pack/);
  });

  it('prints the version and exits 0 with --version', async () => {
    const result = await lockgate('--version');
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('prints the help on stdout and exits 0 without a command', async () => {
    const result = await lockgate();
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Usage: lockgate/);
    expect(result.stderr).toBe('');
  });

  it('prints the help of a command and exits 0 with `help COMMAND`', async () => {
    const result = await lockgate('help', 'release');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Usage: lockgate release/);
    expect(result.stdout).toMatch(/status/);
    expect(result.stderr).toBe('');
  });

  it('exits 2 for `help` of a command that does not exist', async () => {
    for (const args of [
      ['help', 'deploy'],
      ['release', 'help', 'deploy'],
    ]) {
      const result = await lockgate(...args);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/unknown command 'deploy'/);
      expect(result.stdout).toBe('');
    }
  });

  it('exits 2 for an unknown command', async () => {
    const result = await lockgate('deploy');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown command 'deploy'/);
  });

  it('exits 2 for an unknown option', async () => {
    const result = await lockgate('pack', 'list', '--colour');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown option '--colour'/);
  });

  it('prints the group help and exits 0 when a group is given without its subcommand', async () => {
    for (const group of ['trust', 'release']) {
      const result = await lockgate(group);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`Usage: lockgate ${group}`));
      expect(result.stderr).toBe('');
    }
  });

  it('exits 0 from the binary for `lockgate`, `lockgate release` and `lockgate help release`', async () => {
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    const exitOf = (args: string[]): Promise<{ code: number; stdout: string }> =>
      new Promise((resolve) => {
        execFile(
          process.execPath,
          [main, ...args],
          { cwd: temp.dir, timeout: 60_000 },
          (error, stdout) => {
            resolve({ code: error === null ? 0 : Number(error.code ?? -1), stdout });
          },
        );
      });
    for (const args of [[], ['release'], ['help', 'release']]) {
      const result = await exitOf(args);
      expect(result.code, `lockgate ${args.join(' ')}`).toBe(0);
      expect(result.stdout).toMatch(/Usage: lockgate/);
    }
    expect((await exitOf(['release', 'deploy'])).code).toBe(2);
  });

  it('still exits 2 for a subcommand that does not exist in a group', async () => {
    const result = await lockgate('release', 'deploy');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown command 'deploy'/);
  });

  it('exits 2 for a gate status that does not exist', async () => {
    const result = await lockgate(
      'pack',
      'build',
      'src',
      '--name',
      'kb',
      '--version',
      '1.0.0',
      '--key',
      'k.key',
      '--gate',
      'X=MAYBE',
      '--out',
      'kb.pack',
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--gate.*'X=MAYBE' is invalid/);
    expect(result.stderr).toMatch(/PASS, FAIL, ERROR, SKIP/);
  });

  it('exits 2 for a requirement without a value', async () => {
    const result = await lockgate(
      'pack',
      'build',
      'src',
      '--name',
      'kb',
      '--version',
      '1.0.0',
      '--key',
      'k.key',
      '--requires',
      'novalue',
      '--out',
      'kb.pack',
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--requires.*'novalue' is invalid.*KEY=VALUE/);
  });

  it('exits 2 when a required option is missing', async () => {
    const result = await lockgate('pack', 'verify', 'kb.pack');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/required option '--trust <PUBKEY>' not specified/);
  });

  it('exits 2 for a port that is not a number', async () => {
    const result = await lockgate('server', '--port', 'http');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--port/);
  });

  it('exits 2 for a pack reference that is neither a digest nor NAME@VERSION', async () => {
    const result = await lockgate('pack', 'show', 'kb', '--token', 't');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/NAME@VERSION/);
  });

  it('exits 2 for a build status filter other than passed or failed', async () => {
    const result = await lockgate('build', 'list', '--status', 'green', '--token', 't');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/'passed' or 'failed'/);
  });

  it('exits 2 when a server command has no token from the flag or LOCKGATE_TOKEN', async () => {
    const result = await lockgate('trust', 'list');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--token or set LOCKGATE_TOKEN/);
  });

  it('exits 2 for a server URL that is not http or https', async () => {
    const result = await lockgate('pack', 'list', '--server', 'ftp://x', '--token', 't');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--server/);
  });

  it('exits 1 with the code and a sentence when an input file is missing', async () => {
    const result = await lockgate('trust', 'add', 'missing.pub', '--token', 't');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`FILE_UNREADABLE: Cannot read public key missing.pub (ENOENT).\n`);
  });

  it('adds the error as JSON on stdout with --json when a command fails', async () => {
    const result = await lockgate('trust', 'add', 'missing.pub', '--token', 't', '--json');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^FILE_UNREADABLE: /);
    expect(jsonOf<{ error: { code: string } }>(result).error.code).toBe('FILE_UNREADABLE');
  });
});
