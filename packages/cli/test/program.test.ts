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

  it('exits 2 without a command, with help on stderr', async () => {
    const result = await lockgate();
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Usage: lockgate/);
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

  it('exits 2 when a group is given without its subcommand', async () => {
    const result = await lockgate('trust');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Usage: lockgate trust/);
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
