import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServerConfig, startServer } from '@lockgate/server';
import type { RunningServer } from '@lockgate/server';
import type { TokenView } from '@lockgate/api';
import { makeTempDir, runCli } from './cli-harness.ts';
import type { CliResult } from './cli-harness.ts';

describe('token commands end to end against an in-process server', () => {
  const adminToken = randomBytes(24).toString('hex');
  let temp: { dir: string; remove: () => Promise<void> };
  let server: RunningServer;
  let aliceSecret = '';

  const lockgate = (args: string[], token = adminToken): Promise<CliResult> =>
    runCli(args, {
      cwd: temp.dir,
      env: { LOCKGATE_SERVER: server.url, LOCKGATE_TOKEN: token },
      now: new Date(),
    });

  async function ok<T>(...args: string[]): Promise<T> {
    const result = await lockgate([...args, '--json']);
    expect(result.stderr, `stderr of lockgate ${args.join(' ')}`).toBe('');
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout) as T;
  }

  beforeAll(async () => {
    temp = await makeTempDir('token-e2e');
    const config = loadServerConfig(
      { data: join(temp.dir, 'data'), port: 0, logLevel: 'silent' },
      { LOCKGATE_ADMIN_TOKEN: adminToken },
    );
    server = await startServer(config);
  });

  afterAll(async () => {
    await server?.close();
    await temp?.remove();
  });

  it('creates an operator token by default and prints its secret once', async () => {
    const created = await ok<{ token: TokenView; secret: string }>('token', 'create', 'alice');
    expect(created.token).toMatchObject({ name: 'alice', role: 'operator', revokedAt: null });
    expect(created.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    aliceSecret = created.secret;

    const human = await lockgate([
      'token',
      'create',
      'ci',
      '--role',
      'agent',
      '--target',
      'ci-host',
      '--channel',
      'prod-eu/stable',
    ]);
    expect(human.code).toBe(0);
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^created token ci {2}agent {2}created \d{4}-/);
    expect(lines.at(-1)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('refuses a taken name on the server and a bad name or role as usage errors', async () => {
    const taken = await lockgate(['token', 'create', 'alice']);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/^CONFLICT: /);
    for (const args of [
      ['token', 'create', 'bob', '--role', 'root'],
      ['token', 'create', 'Bob'],
    ]) {
      const usage = await lockgate(args);
      expect(usage.code, args.join(' ')).toBe(2);
    }
  });

  it('lists tokens without secrets; only an admin token may', async () => {
    const { items } = await ok<{ items: TokenView[] }>('token', 'list');
    expect(items.map((token) => [token.name, token.role])).toEqual([
      ['admin', 'admin'],
      ['alice', 'operator'],
      ['ci', 'agent'],
    ]);
    const human = await lockgate(['token', 'list']);
    expect(human.stdout).toMatch(/^alice {2}operator {2}created /m);
    expect(human.stdout).not.toContain(aliceSecret);

    expect((await lockgate(['trust', 'list'], aliceSecret)).code).toBe(0);
    const forbidden = await lockgate(['token', 'list'], aliceSecret);
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toMatch(/^FORBIDDEN: /);
  });

  it('revokes a token, which the server then refuses', async () => {
    const { token } = await ok<{ token: TokenView }>('token', 'revoke', 'alice');
    expect(token).toMatchObject({ name: 'alice', revokedAt: expect.any(String) as unknown });
    const refused = await lockgate(['trust', 'list'], aliceSecret);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^UNAUTHORIZED: /);
    const human = await lockgate(['token', 'list']);
    expect(human.stdout).toMatch(/^alice {2}operator {2}created \S+ {2}revoked \S+$/m);

    const unknown = await lockgate(['token', 'revoke', 'nobody']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^TOKEN_NOT_FOUND: /);
  });

  it('creates an agent token for the targets and channels given, patterns and repeats included', async () => {
    const created = await ok<{ token: TokenView & { scope?: unknown } }>(
      'token',
      'create',
      'edge-fleet',
      '--role',
      'agent',
      '--target',
      'edge-*',
      '--target',
      'gw-1',
      '--channel',
      'prod-eu/*',
      '--channel',
      'prod-us/stable',
    );
    expect(created.token).toMatchObject({
      name: 'edge-fleet',
      role: 'agent',
      scope: { targets: ['edge-*', 'gw-1'], channels: ['prod-eu/*', 'prod-us/stable'] },
    });
    const human = await lockgate(['token', 'list']);
    expect(human.stdout).toMatch(
      /^edge-fleet {2}agent {2}created \S+ {2}targets edge-\*,gw-1 {2}channels prod-eu\/\*,prod-us\/stable$/m,
    );
  });

  it('refuses an agent token without a scope, a scope on another role and malformed patterns as usage errors', async () => {
    for (const args of [
      ['token', 'create', 'a1', '--role', 'agent'],
      ['token', 'create', 'a2', '--role', 'agent', '--target', 'host-1'],
      ['token', 'create', 'a3', '--role', 'agent', '--channel', 'prod-eu/stable'],
      ['token', 'create', 'a4', '--target', 'host-1', '--channel', 'prod-eu/stable'],
      ['token', 'create', 'a5', '--role', 'agent', '--target', 'host 1', '--channel', 'p/s'],
      ['token', 'create', 'a6', '--role', 'agent', '--target', 'host-1', '--channel', 'prod-eu'],
    ]) {
      const usage = await lockgate(args);
      expect(usage.code, args.join(' ')).toBe(2);
    }
  });

  it('creates a viewer token, which reads what an operator reads and may change nothing', async () => {
    const created = await ok<{ token: TokenView; secret: string }>(
      'token',
      'create',
      'auditor',
      '--role',
      'viewer',
    );
    expect(created.token).toMatchObject({ name: 'auditor', role: 'viewer', revokedAt: null });
    expect(created.token.scope).toBeUndefined();
    const human = await lockgate(['token', 'list']);
    expect(human.stdout).toMatch(/^auditor {2}viewer {2}created \S+$/m);

    expect((await lockgate(['trust', 'list'], created.secret)).code).toBe(0);
    for (const args of [
      ['env', 'create', 'prod-eu'],
      ['token', 'list'],
    ]) {
      const refused = await lockgate(args, created.secret);
      expect(refused.code, args.join(' ')).toBe(1);
      expect(refused.stderr, args.join(' ')).toMatch(/^FORBIDDEN: /);
    }
  });
});
