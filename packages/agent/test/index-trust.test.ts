import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DsseEnvelope } from '@lockgate/core';
import type { Clock, RejectedEvent } from '../src/index.ts';
import { currentHex, hexOf, makeTempDir, readState, testAgent } from './helpers/agent-fixture.ts';
import { FixtureServer } from './helpers/fixture-server.ts';
import {
  buildPack,
  CHANNEL,
  ENV,
  publicPem,
  SERVER_KEY,
  signIndex,
  STRANGER_KEY,
} from './helpers/packs.ts';
import type { TestPack } from './helpers/packs.ts';

let server: FixtureServer;
let temp: { dir: string; remove: () => Promise<void> };
let a: TestPack;
let b: TestPack;

beforeEach(async () => {
  server = await FixtureServer.start();
  temp = await makeTempDir('index');
  a = await buildPack({ version: '1.0.0', sequence: 1 });
  b = await buildPack({ version: '2.0.0', sequence: 2 });
  server.servePack(a);
  server.servePack(b);
});

afterEach(async () => {
  await server.close();
  await temp.remove();
});

function packDownloads(pack: TestPack): number {
  return server.requestsTo('GET', /^\/api\/v1\/packs\//).filter((r) => r.path.endsWith(pack.digest))
    .length;
}

function collectRejections(agent: ReturnType<typeof testAgent>): RejectedEvent[] {
  const events: RejectedEvent[] = [];
  agent.on('rejected', (event) => events.push(event));
  return events;
}

describe('channel index trust', () => {
  it('never acts on a replayed older index, even after a restart', async () => {
    const agent = testAgent(server.url, temp.dir);
    server.publish(signIndex({ version: 5, packs: [a] }));
    expect(await agent.syncOnce()).toMatchObject({ kind: 'committed', pack: a.digest });

    server.publish(signIndex({ version: 4, packs: [b] }));
    const rejections = collectRejections(agent);
    expect(await agent.syncOnce()).toMatchObject({
      kind: 'index-rejected',
      code: 'INDEX_REPLAYED',
    });
    expect(rejections).toEqual([
      expect.objectContaining({ pack: null, stage: 'index', code: 'INDEX_REPLAYED' }),
    ]);

    const restarted = testAgent(server.url, temp.dir);
    expect(await restarted.syncOnce()).toMatchObject({
      kind: 'index-rejected',
      code: 'INDEX_REPLAYED',
    });
    expect(packDownloads(b)).toBe(0);
    expect(await currentHex(temp.dir)).toBe(hexOf(a));
    expect((await readState(temp.dir)).highestSeenIndexVersion).toBe(5);
  });

  it('never acts on an index that has expired', async () => {
    const agent = testAgent(server.url, temp.dir);
    server.publish(
      signIndex({
        version: 1,
        packs: [a],
        issuedAt: new Date(Date.now() - 2 * 86_400_000),
        ttlSeconds: 86_400,
      }),
    );
    const rejections = collectRejections(agent);
    expect(await agent.syncOnce()).toMatchObject({ kind: 'index-rejected', code: 'INDEX_EXPIRED' });
    expect(rejections.map((r) => r.code)).toEqual(['INDEX_EXPIRED']);
    expect(packDownloads(a)).toBe(0);
    expect(await currentHex(temp.dir)).toBeNull();
  });

  it('stops acting on a stored index once it expires, though the server answers 304', async () => {
    let now = new Date();
    const clock: Clock = { now: () => now };
    const agent = testAgent(server.url, temp.dir, { clock });
    server.publish(signIndex({ version: 1, packs: [a], issuedAt: now, ttlSeconds: 3_600 }));
    expect(await agent.syncOnce()).toMatchObject({ kind: 'committed', pack: a.digest });

    now = new Date(now.getTime() + 2 * 3_600_000);
    expect(await agent.syncOnce()).toMatchObject({ kind: 'index-rejected', code: 'INDEX_EXPIRED' });
    const lastIndexRequest = server.requestsTo('GET', /\/index$/).at(-1);
    expect(lastIndexRequest?.headers['if-none-match']).toBe('"1"');
    expect(await currentHex(temp.dir)).toBe(hexOf(a));
  });

  it('never acts on an index signed by a key it does not trust', async () => {
    const agent = testAgent(server.url, temp.dir);
    server.publish(signIndex({ version: 1, packs: [a], key: STRANGER_KEY }));
    expect(await agent.syncOnce()).toMatchObject({
      kind: 'index-rejected',
      code: 'INDEX_SIGNER_UNTRUSTED',
    });
    expect(packDownloads(a)).toBe(0);
    expect(await currentHex(temp.dir)).toBeNull();
    expect((await readState(temp.dir)).highestSeenIndexVersion).toBeNull();
  });

  it('never acts on an index whose payload was changed after signing', async () => {
    const agent = testAgent(server.url, temp.dir);
    const signed = signIndex({ version: 1, packs: [a] });
    const other = signIndex({ version: 1, packs: [b] });
    const forged: DsseEnvelope = { ...signed, payload: other.payload };
    server.publish(forged);
    expect(await agent.syncOnce()).toMatchObject({
      kind: 'index-rejected',
      code: 'INDEX_SIGNATURE_INVALID',
    });
    expect(await currentHex(temp.dir)).toBeNull();
  });

  it('never acts on an index for another channel', async () => {
    const agent = testAgent(server.url, temp.dir);
    server.publish(signIndex({ version: 1, packs: [a], channel: 'canary' }));
    expect(await agent.syncOnce()).toMatchObject({ kind: 'index-rejected', code: 'INDEX_INVALID' });
    expect(await currentHex(temp.dir)).toBeNull();
  });
});

describe('channel index trust across channels', () => {
  it('accepts the new channel from version 1 after a move, and still refuses replays of the old one', async () => {
    server.publish(signIndex({ version: 5, packs: [a] }));
    expect(await testAgent(server.url, temp.dir).syncOnce()).toMatchObject({
      kind: 'committed',
      pack: a.digest,
    });

    // Moved to canary, whose index is only at version 1.
    const moved = testAgent(server.url, temp.dir, { channel: 'canary' });
    const rejections = collectRejections(moved);
    server.publish(signIndex({ version: 1, packs: [a, b], base: b, channel: 'canary' }));
    expect(await moved.syncOnce()).toMatchObject({ kind: 'committed', pack: b.digest });
    expect(rejections).toEqual([]);
    expect(await currentHex(temp.dir)).toBe(hexOf(b));
    expect((await readState(temp.dir)).highestSeenIndexVersion).toBe(1);

    // Back on stable, a replayed version 4 of it is still refused.
    const back = testAgent(server.url, temp.dir);
    server.publish(signIndex({ version: 4, packs: [a] }));
    expect(await back.syncOnce()).toMatchObject({ kind: 'index-rejected', code: 'INDEX_REPLAYED' });
    expect(await currentHex(temp.dir)).toBe(hexOf(b));
    const state = await readState(temp.dir);
    expect(state.highestSeenIndexVersion).toBe(5);
    expect(Object.keys(state.indexVersions).sort()).toEqual([`${ENV}/canary`, `${ENV}/${CHANNEL}`]);
  });

  it("does not take the old channel's stored index for a 304 of the new one at the same version", async () => {
    server.publish(signIndex({ version: 5, packs: [a] }));
    expect(await testAgent(server.url, temp.dir).syncOnce()).toMatchObject({ kind: 'committed' });

    server.publish(signIndex({ version: 5, packs: [a, b], base: b, channel: 'canary' }));
    const moved = testAgent(server.url, temp.dir, { channel: 'canary' });
    expect(await moved.syncOnce()).toMatchObject({ kind: 'committed', pack: b.digest });
    const request = server.requestsTo('GET', /\/canary\/index$/).at(0);
    expect(request?.headers['if-none-match']).toBeUndefined();
  });

  it('migrates a state that kept one highest version: it stays the floor of the channel it came from', async () => {
    server.publish(signIndex({ version: 5, packs: [a] }));
    expect(await testAgent(server.url, temp.dir).syncOnce()).toMatchObject({ kind: 'committed' });
    // The state as an agent that kept a single highest version wrote it.
    const path = join(temp.dir, 'state.json');
    const old = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    delete old.indexVersions;
    old.highestSeenIndexVersion = 5;
    await writeFile(path, JSON.stringify(old));

    // The agent now runs on canary: canary starts at 1.
    server.publish(signIndex({ version: 1, packs: [a, b], base: b, channel: 'canary' }));
    expect(await testAgent(server.url, temp.dir, { channel: 'canary' }).syncOnce()).toMatchObject({
      kind: 'committed',
      pack: b.digest,
    });
    // Stable keeps the floor the old state recorded for it.
    server.publish(signIndex({ version: 4, packs: [a] }));
    expect(await testAgent(server.url, temp.dir).syncOnce()).toMatchObject({
      kind: 'index-rejected',
      code: 'INDEX_REPLAYED',
    });
  });

  it('counts versions per signing key: a second trusted key starts its own count', async () => {
    const keys = { trustedServerKeys: [publicPem(SERVER_KEY), publicPem(STRANGER_KEY)] };
    server.publish(signIndex({ version: 5, packs: [a] }));
    expect(await testAgent(server.url, temp.dir, keys).syncOnce()).toMatchObject({
      kind: 'committed',
    });
    server.publish(signIndex({ version: 1, packs: [a, b], base: b, key: STRANGER_KEY }));
    expect(await testAgent(server.url, temp.dir, keys).syncOnce()).toMatchObject({
      kind: 'committed',
      pack: b.digest,
    });
    server.publish(signIndex({ version: 4, packs: [a] }));
    expect(await testAgent(server.url, temp.dir, keys).syncOnce()).toMatchObject({
      kind: 'index-rejected',
      code: 'INDEX_REPLAYED',
    });
  });

  it('keeps a refused pack refused per channel: a lower version elsewhere tries it again', async () => {
    const broken = await buildPack({ version: '3.0.0', sequence: 3 });
    server.servePack(broken, b.bytes);
    server.publish(signIndex({ version: 5, packs: [a, broken], base: broken }));
    expect(await testAgent(server.url, temp.dir).syncOnce()).toMatchObject({
      kind: 'rejected',
      pack: broken.digest,
      code: 'PACK_DIGEST_MISMATCH',
    });
    // Fixed on the server; the canary channel at version 2 offers it.
    server.servePack(broken);
    server.publish(signIndex({ version: 2, packs: [a, broken], base: broken, channel: 'canary' }));
    expect(await testAgent(server.url, temp.dir, { channel: 'canary' }).syncOnce()).toEqual({
      kind: 'committed',
      pack: broken.digest,
    });
  });
});
