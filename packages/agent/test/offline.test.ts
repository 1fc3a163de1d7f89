import { chmod, copyFile, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RejectedEvent, RepairedEvent, RevertedEvent, WarningEvent } from '../src/index.ts';
import {
  agentOptions,
  currentHex,
  hexOf,
  holdsExactly,
  makeTempDir,
  readState,
  testAgent,
} from './helpers/agent-fixture.ts';
import { runChild } from './helpers/child-process.ts';
import { FixtureServer } from './helpers/fixture-server.ts';
import { buildPack, flipByteInEntry, signIndex } from './helpers/packs.ts';
import type { TestPack } from './helpers/packs.ts';

let server: FixtureServer;
let temp: { dir: string; remove: () => Promise<void> };
let offlineUrl: string;
let a: TestPack;
let b: TestPack;

beforeEach(async () => {
  server = await FixtureServer.start();
  temp = await makeTempDir('offline');
  // A port that was just free: nothing listens there any more.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  offlineUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  a = await buildPack({
    version: '1.0.0',
    sequence: 1,
    files: { 'data.json': '{"v":1}', 'b.txt': 'one' },
  });
  b = await buildPack({
    version: '2.0.0',
    sequence: 2,
    files: { 'data.json': '{"v":2}', 'b.txt': 'two' },
  });
  server.servePack(a);
  server.servePack(b);
  server.publish(signIndex({ version: 1, packs: [a] }));
  expect(await testAgent(server.url, temp.dir).syncOnce()).toMatchObject({ kind: 'committed' });
});

afterEach(async () => {
  await server.close();
  await temp.remove();
});

function downloadsOf(pack: TestPack): number {
  return server.requestsTo('GET', /^\/api\/v1\/packs\//).filter((r) => r.path.endsWith(pack.digest))
    .length;
}

describe('without the server', () => {
  it('comes up on the active pack after a restart and keeps serving it', async () => {
    const agent = testAgent(offlineUrl, temp.dir);
    const warnings: WarningEvent[] = [];
    agent.on('warning', (w) => warnings.push(w));
    expect(await agent.recover()).toEqual({ active: a.digest, trial: null, activeFailed: null });
    expect(await agent.syncOnce()).toMatchObject({ kind: 'offline' });
    expect(warnings.map((w) => w.code)).toContain('SERVER_UNREACHABLE');
    expect(await currentHex(temp.dir)).toBe(hexOf(a));
    expect(await holdsExactly(join(temp.dir, 'current'), a)).toBe(true);
    expect(await readState(temp.dir)).toMatchObject({ active: a.digest, lkg: a.digest });
  });

  it('runs as a daemon while offline and stops cleanly', async () => {
    const agent = testAgent(offlineUrl, temp.dir, {
      events: true,
      pollIntervalMs: 20,
      reportIntervalMs: 20,
      reconnectMinMs: 10,
      reconnectMaxMs: 20,
    });
    const warnings: WarningEvent[] = [];
    const enough = new Promise<void>((resolve) => {
      agent.on('warning', (w) => {
        warnings.push(w);
        if (warnings.length >= 5) resolve();
      });
    });
    await agent.start();
    await enough;
    await agent.stop();
    expect(agent.status().running).toBe(false);
    expect(await currentHex(temp.dir)).toBe(hexOf(a));
  });

  it('refuses a cached pack with a flipped byte (PACK_FILE_HASH_MISMATCH) and keeps the active one', async () => {
    // B was downloaded earlier; a byte of one of its files has flipped on disk since.
    const cached = join(temp.dir, 'cache', `${hexOf(b)}.pack`);
    await writeFile(cached, flipByteInEntry(b.bytes, 'files/data.json', 2));
    expect(await testAgent(offlineUrl, temp.dir).syncOnce()).toMatchObject({ kind: 'offline' });
    expect(await currentHex(temp.dir)).toBe(hexOf(a));

    const agent = testAgent(server.url, temp.dir);
    const rejected: RejectedEvent[] = [];
    agent.on('rejected', (event) => rejected.push(event));
    server.publish(signIndex({ version: 2, packs: [a, b], base: b }));
    expect(await agent.syncOnce()).toMatchObject({
      kind: 'rejected',
      pack: b.digest,
      code: 'PACK_FILE_HASH_MISMATCH',
    });
    expect(rejected.map((r) => r.code)).toEqual(['PACK_FILE_HASH_MISMATCH']);
    expect(downloadsOf(b)).toBe(0);
    expect(await currentHex(temp.dir)).toBe(hexOf(a));
    expect(await holdsExactly(join(temp.dir, 'current'), a)).toBe(true);
    expect(server.reports().at(-1)).toMatchObject({
      activePack: a.digest,
      lastAttempt: { kind: 'verify', pack: b.digest, code: 'PACK_FILE_HASH_MISMATCH' },
    });

    // The bad copy is gone: with a newer index the agent downloads B afresh and runs it.
    server.publish(signIndex({ version: 3, packs: [a, b], base: b }));
    expect(await agent.syncOnce()).toEqual({ kind: 'committed', pack: b.digest });
    expect(downloadsOf(b)).toBe(1);
    expect(await holdsExactly(join(temp.dir, 'current'), b)).toBe(true);
  });

  it('returns to lkg on start when the pack on trial no longer verifies', async () => {
    server.publish(signIndex({ version: 2, packs: [a, b], base: b }));
    const exit = await runChild(
      agentOptions(server.url, temp.dir, {
        healthCheck: { url: `${server.url}/healthz` },
      }),
      'activated',
    ).exited;
    expect(exit.signal).toBe('SIGKILL');
    expect(await currentHex(temp.dir)).toBe(hexOf(b));
    const file = join(temp.dir, 'packs', hexOf(b), 'data.json');
    await chmod(file, 0o644);
    const bytes = await readFile(file);
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    await writeFile(file, bytes);

    const agent = testAgent(offlineUrl, temp.dir, {
      healthCheck: { url: `${server.url}/healthz` },
    });
    const reverted: RevertedEvent[] = [];
    agent.on('reverted', (event) => reverted.push(event));
    const recovery = await agent.recover();
    expect(recovery.trial).toMatchObject({
      kind: 'reverted',
      to: a.digest,
      code: 'PACK_FILE_HASH_MISMATCH',
    });
    expect(reverted).toEqual([expect.objectContaining({ pack: b.digest, to: a.digest })]);
    expect(await currentHex(temp.dir)).toBe(hexOf(a));
    expect(await holdsExactly(join(temp.dir, 'current'), a)).toBe(true);
  });

  it('reports an active pack that no longer verifies when there is nothing verified to go back to', async () => {
    // No verified copy anywhere: the cached pack file is gone and the server is unreachable.
    await rm(join(temp.dir, 'cache', `${hexOf(a)}.pack`));
    const file = join(temp.dir, 'packs', hexOf(a), 'b.txt');
    await chmod(file, 0o644);
    await writeFile(file, 'ONE');
    const agent = testAgent(offlineUrl, temp.dir);
    const rejected: RejectedEvent[] = [];
    agent.on('rejected', (event) => rejected.push(event));
    const recovery = await agent.recover();
    expect(recovery.activeFailed).toBe('PACK_FILE_HASH_MISMATCH');
    expect(rejected).toEqual([
      expect.objectContaining({ pack: a.digest, code: 'PACK_FILE_HASH_MISMATCH' }),
    ]);
    expect((await readState(temp.dir)).lastAttempt).toMatchObject({
      kind: 'verify',
      pack: a.digest,
      result: 'failed',
      code: 'PACK_FILE_HASH_MISMATCH',
    });
    // It stops serving the files that fail their hashes.
    expect(recovery.active).toBeNull();
    expect(await currentHex(temp.dir)).toBeNull();
  });

  it('repairs an active pack that no longer verifies from its cached pack file, offline', async () => {
    const file = join(temp.dir, 'packs', hexOf(a), 'b.txt');
    await chmod(file, 0o644);
    await writeFile(file, 'ONE');
    const agent = testAgent(offlineUrl, temp.dir);
    const repaired: RepairedEvent[] = [];
    agent.on('repaired', (event) => repaired.push(event));
    const recovery = await agent.recover();
    expect(recovery).toEqual({
      active: a.digest,
      trial: null,
      activeFailed: 'PACK_FILE_HASH_MISMATCH',
    });
    expect(repaired).toEqual([
      expect.objectContaining({ pack: a.digest, code: 'PACK_FILE_HASH_MISMATCH' }),
    ]);
    expect(await currentHex(temp.dir)).toBe(hexOf(a));
    expect(await holdsExactly(join(temp.dir, 'current'), a)).toBe(true);
    const state = await readState(temp.dir);
    expect(state).toMatchObject({ active: a.digest, lkg: a.digest });
    expect(state.lastAttempt).toMatchObject({
      kind: 'verify',
      pack: a.digest,
      result: 'ok',
      code: 'PACK_FILE_HASH_MISMATCH',
    });
    const leftovers = [...(await readdir(temp.dir)), ...(await readdir(join(temp.dir, 'packs')))];
    expect(leftovers.filter((name) => name.includes('.tmp-'))).toEqual([]);
  });

  it('keeps the cache within its bound, never evicting the active pack', async () => {
    const agent = testAgent(server.url, temp.dir, {
      cacheMaxBytes: a.bytes.length + b.bytes.length - 1,
    });
    const stale = join(temp.dir, 'cache', `${'f'.repeat(64)}.pack`);
    await copyFile(join(temp.dir, 'cache', `${hexOf(a)}.pack`), stale);
    server.publish(signIndex({ version: 2, packs: [a, b], base: b }));
    expect(await agent.syncOnce()).toEqual({ kind: 'committed', pack: b.digest });
    await expect(readFile(stale)).rejects.toThrow();
    await expect(readFile(join(temp.dir, 'cache', `${hexOf(b)}.pack`))).resolves.toBeDefined();
  });
});
