import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonOf, makeTempDir, runCli } from './cli-harness.ts';

describe('lockgate server', () => {
  let temp: { dir: string; remove: () => Promise<void> };

  beforeAll(async () => {
    temp = await makeTempDir('server');
  });

  afterAll(async () => {
    await temp.remove();
  });

  it('prints the URL, shows a generated admin token once with its file, and stops on the signal', async () => {
    // The harness's shutdown signal arrives at once, so the server starts, reports and closes.
    const result = await runCli(
      ['server', '--data', 'data', '--port', '0', '--log-level', 'silent', '--json'],
      { cwd: temp.dir },
    );
    expect(result.code).toBe(0);
    expect(jsonOf<{ url: string }>(result).url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const tokenFile = join(temp.dir, 'data', 'admin-token');
    const token = (await readFile(tokenFile, 'utf8')).trim();
    expect(token.length).toBeGreaterThanOrEqual(16);
    expect(result.stderr).toContain(`also stored in ${tokenFile}`);
    expect(result.stderr).toContain(`\n${token}\n`);
    expect(result.stderr).toContain('SIGTERM: stopping the server');
  });

  it('does not show the token again on the next start', async () => {
    const result = await runCli(
      ['server', '--data', 'data', '--port', '0', '--log-level', 'silent'],
      {
        cwd: temp.dir,
      },
    );
    expect(result.code).toBe(0);
    expect(result.stderr).not.toMatch(/admin token/i);
  });

  it('exits 1 with the code when the server configuration is refused', async () => {
    const result = await runCli(['server', '--data', 'data', '--log-level', 'chatty'], {
      cwd: temp.dir,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^VALIDATION_FAILED: .*log level "chatty"/);
  });
});
