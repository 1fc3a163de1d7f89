import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliWorld } from './cli-harness.ts';
import type { CliWorld } from './cli-harness.ts';

/** A receiver that checks `Lockgate-Signature: t=…,v1=…` the way the docs tell users to. */
async function receiver(): Promise<{
  url: string;
  verified: () => boolean[];
  setSecret: (s: string) => void;
  close: () => Promise<void>;
}> {
  let secret = '';
  const results: boolean[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      const header = String(request.headers['lockgate-signature'] ?? '');
      const t = /t=(\d+)/.exec(header)?.[1] ?? '';
      const v1 = /v1=([0-9a-f]{64})/.exec(header)?.[1] ?? '';
      const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
      const fresh = Math.abs(Date.now() / 1000 - Number(t)) <= 300;
      results.push(fresh && v1 === expected);
      response.statusCode = fresh && v1 === expected ? 200 : 401;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    verified: () => results,
    setSecret: (s) => {
      secret = s;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('lockgate webhook and freeze', () => {
  let world: CliWorld;
  let hook: Awaited<ReturnType<typeof receiver>>;

  beforeAll(async () => {
    world = await createCliWorld({ prefix: 'ops', versions: [] });
    hook = await receiver();
    await world.ok('env', 'create', 'prod-eu');
    await world.ok('env', 'create', 'prod-us');
  });

  afterAll(async () => {
    await world.close();
    await hook.close();
  });

  it('adds a webhook, prints its secret once, tests it and removes it', async () => {
    const added = await world.ok<{ secret: string; webhook: { name: string } }>(
      'webhook',
      'add',
      'oncall',
      '--url',
      hook.url,
      '--event',
      'freeze.started',
    );
    hook.setSecret(added.secret);
    const human = await world.lockgate('webhook', 'list');
    expect(human.stdout).toContain('oncall  json');
    expect(human.stdout).not.toContain(added.secret);
    const tested = await world.lockgate('webhook', 'test', 'oncall');
    expect(tested.code).toBe(0);
    expect(tested.stdout).toMatch(/webhook\.test {2}delivered {2}attempts 1 {2}HTTP 200/);
    expect(hook.verified()).toEqual([true]);
    const log = await world.lockgate('webhook', 'deliveries', 'oncall');
    expect(log.stdout).toContain('#1');
    const removed = await world.lockgate('webhook', 'remove', 'oncall', '--reason', 'done');
    expect(removed.code).toBe(0);
    const gone = await world.lockgate('webhook', 'test', 'oncall');
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('WEBHOOK_NOT_FOUND');
  });

  it('stops the line everywhere, shows it, and lifts it', async () => {
    const usage = await world.lockgate('freeze', 'now', '--reason', 'incident');
    expect(usage.code).toBe(2);
    const stopped = await world.lockgate('freeze', 'now', '--all', '--reason', 'incident 9');
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain('prod-eu  stop-the-line');
    expect(stopped.stdout).toContain('prod-us  stop-the-line');
    const status = await world.lockgate('freeze', 'status');
    expect(status.stdout.trim().split('\n')).toHaveLength(2);
    const lifted = await world.lockgate('freeze', 'lift', '--all', '--reason', 'fixed');
    expect(lifted.stdout).toContain('lifted:');
    expect((await world.lockgate('freeze', 'status')).stdout).toContain('no freeze in effect');
  });
});
