import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServerConfig, startServer } from '@lockgate/server';
import type { RunningServer } from '@lockgate/server';
import type { TargetView } from '@lockgate/api';
import { makeTempDir, runCli } from './cli-harness.ts';
import type { CliResult } from './cli-harness.ts';

const PACK = `sha256:${'ab'.repeat(32)}`;

describe('target list against an in-process server', () => {
  const adminToken = randomBytes(24).toString('hex');
  let temp: { dir: string; remove: () => Promise<void> };
  let server: RunningServer;

  const lockgate = (...args: string[]): Promise<CliResult> =>
    runCli(args, {
      cwd: temp.dir,
      env: { LOCKGATE_SERVER: server.url, LOCKGATE_TOKEN: adminToken },
      now: new Date(),
    });

  async function api(method: string, path: string, body: unknown): Promise<void> {
    const response = await fetch(`${server.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.ok, `${method} ${path}: ${await response.text()}`).toBe(true);
  }

  beforeAll(async () => {
    temp = await makeTempDir('target-list');
    const config = loadServerConfig(
      { data: join(temp.dir, 'data'), port: 0, logLevel: 'silent' },
      { LOCKGATE_ADMIN_TOKEN: adminToken },
    );
    server = await startServer(config);
    for (const args of [
      ['env', 'create', 'prod-eu'],
      ['channel', 'create', 'prod-eu/stable'],
    ]) {
      const created = await lockgate(...args);
      expect(created.stderr, `lockgate ${args.join(' ')}`).toBe('');
    }
    for (const id of ['edge-1', 'edge-2']) {
      await api('PUT', `/targets/${id}`, { env: 'prod-eu', channel: 'stable', labels: {} });
    }
    // edge-1's agent found its active pack changed on disk and stopped serving it.
    await api('POST', '/targets/edge-1/reports', {
      activePack: null,
      lastAttempt: {
        kind: 'verify',
        pack: PACK,
        result: 'failed',
        code: 'PACK_FILE_HASH_MISMATCH',
        at: '2026-11-23T09:59:00.000Z',
      },
    });
  });

  afterAll(async () => {
    await server?.close();
    await temp?.remove();
  });

  it('prints each target’s last attempt with its code, and nothing more for a target without one', async () => {
    const result = await lockgate('target', 'list', '--env', 'prod-eu');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      new RegExp(
        `^edge-1 {2}prod-eu/stable {2}\\(no labels\\) {2}active none {2}last report \\S+ {2}` +
          `last attempt verify failed PACK_FILE_HASH_MISMATCH ${PACK} at 2026-11-23T09:59:00\\.000Z$`,
      ),
    );
    expect(lines[1]).toMatch(/^edge-2 .* {2}last report never$/);
  });

  it('gives the last attempt in --json', async () => {
    const result = await lockgate('target', 'list', '--json');
    const { items } = JSON.parse(result.stdout) as { items: TargetView[] };
    expect(items.find((t) => t.id === 'edge-1')?.lastAttempt).toEqual({
      kind: 'verify',
      pack: PACK,
      result: 'failed',
      code: 'PACK_FILE_HASH_MISMATCH',
      at: '2026-11-23T09:59:00.000Z',
    });
    expect(items.find((t) => t.id === 'edge-2')?.lastAttempt).toBeNull();
  });
});
