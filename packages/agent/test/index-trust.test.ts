import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DsseEnvelope } from '@lockgate/core';
import type { Clock, RejectedEvent } from '../src/index.ts';
import { currentHex, hexOf, makeTempDir, readState, testAgent } from './helpers/agent-fixture.ts';
import { FixtureServer } from './helpers/fixture-server.ts';
import { buildPack, signIndex, STRANGER_KEY } from './helpers/packs.ts';
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
