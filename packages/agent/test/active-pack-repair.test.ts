import { chmod, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRuntime } from '@lockgate/example-runtime';
import type { Runtime } from '@lockgate/example-runtime';
import {
  agentOptions,
  currentHex,
  hexOf,
  holdsExactly,
  makeTempDir,
  testAgent,
} from './helpers/agent-fixture.ts';
import { runChild } from './helpers/child-process.ts';
import { FixtureServer } from './helpers/fixture-server.ts';
import { buildPack, signIndex } from './helpers/packs.ts';
import type { TestPack } from './helpers/packs.ts';

// The agent runs as its own process (restarted after the tampering); the example runtime
// serves DIR/current and is refreshed by hand, so nothing here waits on a poll interval.

let server: FixtureServer;
let temp: { dir: string; remove: () => Promise<void> };
let runtime: Runtime | null = null;
let pack: TestPack;

beforeEach(async () => {
  server = await FixtureServer.start();
  temp = await makeTempDir('repair');
  pack = await buildPack({
    version: '1.0.0',
    sequence: 1,
    files: { 'data.json': '{"greeting":"hello"}' },
  });
  server.servePack(pack);
  server.publish(signIndex({ version: 1, packs: [pack] }));
  expect(await testAgent(server.url, temp.dir).syncOnce()).toEqual({
    kind: 'committed',
    pack: pack.digest,
  });
  runtime = await createRuntime({ packDir: join(temp.dir, 'current'), pollIntervalMs: 600_000 });
});

afterEach(async () => {
  await runtime?.close();
  runtime = null;
  await server.close();
  await temp.remove();
});

/** What the runtime answers for `greeting` now: the value, or the HTTP status when none. */
async function greeting(): Promise<string | number> {
  await runtime?.refresh();
  const response = await fetch(`${runtime?.url ?? ''}/lookup/greeting`);
  if (response.status !== 200) {
    await response.body?.cancel();
    return response.status;
  }
  return ((await response.json()) as { value: string }).value;
}

/** Edits data.json inside the active pack's directory, as someone with access to the disk. */
async function tamper(): Promise<void> {
  const file = join(temp.dir, 'packs', hexOf(pack), 'data.json');
  await chmod(file, 0o644);
  await writeFile(file, '{"greeting":"tampered"}');
}

/** Restarts the agent as a process: it recovers its directory and syncs once. */
async function restartAgent(): Promise<string> {
  const exit = await runChild(agentOptions(server.url, temp.dir)).exited;
  expect(exit.code, exit.output).toBe(0);
  return exit.output;
}

function lastAttemptReported(): unknown {
  return server.reports().at(-1)?.lastAttempt;
}

describe('an active pack changed on disk', () => {
  it('is repaired from the verified cache on restart: the runtime serves the verified content again and the code is reported', async () => {
    expect(await greeting()).toBe('hello');
    await tamper();
    expect(await greeting()).toBe('tampered');

    const output = await restartAgent();
    expect(output).toContain('event repaired');
    expect(output).toContain('done up-to-date');
    expect(await greeting()).toBe('hello');
    expect(await currentHex(temp.dir)).toBe(hexOf(pack));
    expect(await holdsExactly(join(temp.dir, 'current'), pack)).toBe(true);
    expect(server.reports().at(-1)).toMatchObject({ activePack: pack.digest });
    expect(lastAttemptReported()).toMatchObject({
      kind: 'verify',
      pack: pack.digest,
      result: 'ok',
      code: 'PACK_FILE_HASH_MISMATCH',
    });
  });

  it('is no longer served when no verified copy can be had, and is served again once the server has one', async () => {
    await rm(join(temp.dir, 'cache', `${hexOf(pack)}.pack`));
    server.packs.delete(pack.digest);
    await tamper();
    expect(await greeting()).toBe('tampered');

    const output = await restartAgent();
    expect(output).toContain('event rejected');
    expect(await greeting()).toBe(503);
    expect(await currentHex(temp.dir)).toBeNull();
    expect(server.reports()).toContainEqual(
      expect.objectContaining({
        activePack: null,
        lastAttempt: expect.objectContaining({
          kind: 'verify',
          pack: pack.digest,
          result: 'failed',
          code: 'PACK_FILE_HASH_MISMATCH',
        }) as unknown,
      }),
    );

    // The server has the pack again: the next start downloads, verifies and activates it.
    server.servePack(pack);
    expect(await restartAgent()).toContain('done committed');
    expect(await greeting()).toBe('hello');
    expect(await holdsExactly(join(temp.dir, 'current'), pack)).toBe(true);
    expect(lastAttemptReported()).toMatchObject({
      kind: 'activate',
      pack: pack.digest,
      result: 'ok',
    });
  });
});
