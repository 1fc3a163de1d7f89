import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeEvents } from '../src/commands/release-watch.ts';
import { createCliWorld, runCli } from './cli-harness.ts';
import type { CliWorld } from './cli-harness.ts';

describe('the change events of a stream', () => {
  it('yields each change event whole, however the text is cut, and skips comments', async () => {
    const text =
      ': keep-alive\n\nevent: change\ndata: {"seq":1,"release":"r1"}\n\nevent: change\ndata: {"seq":2,"release":null}\n\n';
    async function* pieces(): AsyncGenerator<string> {
      for (let i = 0; i < text.length; i += 7) {
        await Promise.resolve();
        yield text.slice(i, i + 7);
      }
    }
    const seen = [];
    for await (const event of changeEvents(pieces())) seen.push(event.seq);
    expect(seen).toEqual([1, 2]);
  });
});

describe('lockgate release status --watch', () => {
  let world: CliWorld;
  const watch = (id: string, untilShutdown?: () => Promise<string>) =>
    runCli(['release', 'status', id, '--watch', '--json'], {
      cwd: world.dir,
      env: { LOCKGATE_SERVER: world.server.url, LOCKGATE_TOKEN: world.adminToken },
      now: new Date(),
      untilShutdown: untilShutdown ?? (() => new Promise<string>(() => undefined)),
    });
  const states = (stdout: string): string[] =>
    stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { release: { state: string } }).release.state);

  beforeAll(async () => {
    world = await createCliWorld({ prefix: 'watch', versions: ['1.0.0', '2.0.0'] });
    await world.ok('env', 'create', 'prod');
    await world.ok('channel', 'create', 'prod/stable');
    await writeFile(
      join(world.dir, 'soak.json'),
      JSON.stringify({ stages: [{ name: 'all', percent: 100, soakSeconds: 2, gates: [] }] }),
    );
    await world.ok('plan', 'set', 'soak', '--file', 'soak.json');
    await writeFile(
      join(world.dir, 'held.json'),
      JSON.stringify({
        stages: [{ name: 'all', percent: 100, soakSeconds: 1, gates: [], approvals: 1 }],
      }),
    );
    await world.ok('plan', 'set', 'held', '--file', 'held.json');
  }, 60_000);

  afterAll(async () => {
    await world.close();
  });

  it('draws the release again as it changes and ends when the release ends', async () => {
    const { release } = await world.ok<{ release: { id: string } }>(
      'release',
      'create',
      'kb@1.0.0',
      '--to',
      'prod/stable',
      '--plan',
      'soak',
      '--reason',
      'first',
    );
    const result = await watch(release.id);
    expect(result.code).toBe(0);
    const seen = states(result.stdout);
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.at(-1)).toBe('completed');
    expect(seen.slice(0, -1)).not.toContain('completed');
  }, 60_000);

  it('ends on Ctrl-C while the release waits', async () => {
    const { release } = await world.ok<{ release: { id: string } }>(
      'release',
      'create',
      'kb@2.0.0',
      '--to',
      'prod/stable',
      '--plan',
      'held',
      '--reason',
      'second',
    );
    const result = await watch(
      release.id,
      () => new Promise<string>((resolve) => setTimeout(() => resolve('SIGINT'), 1500)),
    );
    expect(result.code).toBe(0);
    expect(states(result.stdout).at(-1)).not.toBe('completed');
    expect(result.stderr).toBe('');
  }, 60_000);

  it('refuses an unknown release with its code', async () => {
    const result = await watch('rel_nope');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('RELEASE_NOT_FOUND');
  }, 30_000);
});
