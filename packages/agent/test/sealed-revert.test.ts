import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { canonicalJson, parsePublicKey } from '@lockgate/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Agent } from '../src/index.ts';
import { verifyInstalledPack } from '../src/index.ts';
import { RACY_NS, stampTree } from '../src/pack-seal.ts';
import { currentHex, hexOf, makeTempDir, readState, testAgent } from './helpers/agent-fixture.ts';
import { FixtureServer } from './helpers/fixture-server.ts';
import { BUILD_KEY, buildPack, publicPem, signIndex } from './helpers/packs.ts';
import type { TestPack } from './helpers/packs.ts';

/**
 * A revert checks the previous pack by its seal (pack-seal.ts) instead of hashing it again:
 * these try to slip a changed previous pack past that check, the way someone with write access
 * to the agent's directory would, keeping sizes and modification times as they were.
 */

const run = promisify(execFile);

let server: FixtureServer;
let temp: { dir: string; remove: () => Promise<void> };
let a: TestPack;
let b: TestPack;

const FILES = { 'data.json': '{"version":"1.0.0"}', 'lib/rules.txt': 'allow all\n' };

beforeEach(async () => {
  server = await FixtureServer.start();
  temp = await makeTempDir('sealed-revert');
  a = await buildPack({ version: '1.0.0', sequence: 1, files: FILES });
  b = await buildPack({ version: '2.0.0', sequence: 2 });
  server.servePack(a);
  server.servePack(b);
});

afterEach(async () => {
  await server.close();
  await temp.remove();
});

/**
 * Gives `path` the access and modification times `from` has, to the nanosecond (`touch -r`;
 * `utimes` from Node takes milliseconds).
 */
async function copyTimes(from: string, path: string): Promise<void> {
  await run('touch', ['-r', from, path]);
}

/** Rewrites a read-only file's bytes, then puts its mode and times back as they were. */
async function rewriteKeepingTimes(path: string, bytes: string): Promise<void> {
  const mode = (await stat(path)).mode & 0o777;
  const times = `${path}.times`;
  await writeFile(times, '');
  await copyTimes(path, times);
  await chmod(path, 0o644);
  await writeFile(path, bytes);
  await chmod(path, mode);
  await copyTimes(times, path);
  await rm(times);
}

const TAMPERS: { name: string; code: string; tamper: (dir: string) => Promise<void> }[] = [
  {
    name: 'bytes rewritten in place at the same size, times put back',
    code: 'PACK_FILE_HASH_MISMATCH',
    tamper: (dir) => rewriteKeepingTimes(join(dir, 'lib/rules.txt'), 'allow none'),
  },
  {
    name: 'a file replaced by a rename, size and times copied',
    code: 'PACK_FILE_HASH_MISMATCH',
    tamper: async (dir) => {
      const path = join(dir, 'data.json');
      const forged = join(dir, '..', 'forged');
      await writeFile(forged, '{"version":"6.6.6"}', { mode: 0o444 });
      await copyTimes(path, forged);
      await rename(forged, path);
    },
  },
  {
    name: 'a file added',
    code: 'PACK_FILE_UNLISTED',
    tamper: (dir) => writeFile(join(dir, 'lib/extra.txt'), 'more'),
  },
  {
    name: 'a file removed',
    code: 'PACK_FILE_MISSING',
    tamper: (dir) => rm(join(dir, 'lib/rules.txt')),
  },
];

/** A committed and sealed by this agent, then B activated and failing its health check. */
async function revertAfter(agent: Agent, tamper: (dir: string) => Promise<void>) {
  server.publish(signIndex({ version: 1, packs: [a] }));
  expect(await agent.syncOnce()).toEqual({ kind: 'committed', pack: a.digest });
  server.publish(signIndex({ version: 2, packs: [a, b], base: b }));
  server.healthStatus = 503;
  await tamper(join(temp.dir, 'packs', hexOf(a)));
  return agent.syncOnce();
}

describe('a revert to a sealed previous pack', () => {
  it('goes back to it when its files are as they were installed (the control)', async () => {
    const agent = testAgent(server.url, temp.dir, {
      healthCheck: { url: `${server.url}/healthz` },
    });
    expect(await revertAfter(agent, () => Promise.resolve())).toEqual({
      kind: 'reverted',
      pack: b.digest,
      to: a.digest,
      code: 'HEALTH_CHECK_FAILED',
    });
    expect(await currentHex(temp.dir)).toBe(hexOf(a));
  });

  it.each(TAMPERS)('refuses it when $name ($code)', async ({ tamper, code }) => {
    const agent = testAgent(server.url, temp.dir, {
      healthCheck: { url: `${server.url}/healthz` },
    });
    expect(await revertAfter(agent, tamper)).toEqual({
      kind: 'revert-failed',
      pack: b.digest,
      code,
    });
    // Nothing that verifies to go back to: the trial pack keeps serving, the changed one never.
    expect(await currentHex(temp.dir)).toBe(hexOf(b));
    expect((await readState(temp.dir)).lastAttempt).toMatchObject({
      kind: 'revert',
      pack: a.digest,
      result: 'failed',
      code,
    });
    expect(server.reports().at(-1)).toMatchObject({
      lastAttempt: { kind: 'revert', pack: a.digest, result: 'failed', code },
    });
  });
});

describe('verifyInstalledPack with a seal', () => {
  const keys = () => [parsePublicKey(publicPem(BUILD_KEY))];

  async function installByHand(pack: TestPack): Promise<{ dir: string; manifest: string }> {
    const dir = join(temp.dir, 'pack');
    for (const [path, bytes] of pack.files) {
      await mkdir(join(dir, path, '..'), { recursive: true });
      await writeFile(join(dir, path), bytes, { mode: 0o444 });
    }
    const manifest = join(temp.dir, 'pack.manifest.json');
    await writeFile(manifest, `${canonicalJson(pack.manifest)}\n`);
    return { dir, manifest };
  }

  it('reads no file when the stats match: a seal taken of changed bytes passes them, so only the process that hashed may seal', async () => {
    const { dir, manifest } = await installByHand(a);
    await writeFile(join(dir, 'data.json'), '{"version":"9.9.9"}');
    const options = { expectedDigest: a.digest, trustedKeys: keys() };
    await expect(verifyInstalledPack(dir, manifest, options)).rejects.toMatchObject({
      code: 'PACK_FILE_HASH_MISMATCH',
    });
    const stamps = await stampTree(dir);
    const seal = { ...stamps, at: stamps.at + RACY_NS * 4n };
    await expect(verifyInstalledPack(dir, manifest, options, seal)).resolves.toMatchObject({
      digest: a.digest,
      stamps: seal,
    });
  });

  it('hashes again when a file changed within RACY_NS of the seal (the clock tick can hide it)', async () => {
    const { dir, manifest } = await installByHand(a);
    await writeFile(join(dir, 'data.json'), '{"version":"9.9.9"}');
    const stamps = await stampTree(dir);
    const newest = (await stat(join(dir, 'data.json'), { bigint: true })).ctimeNs;
    const racy = { ...stamps, at: newest + RACY_NS / 2n };
    const options = { expectedDigest: a.digest, trustedKeys: keys() };
    await expect(verifyInstalledPack(dir, manifest, options, racy)).rejects.toMatchObject({
      code: 'PACK_FILE_HASH_MISMATCH',
      details: { path: 'data.json' },
    });
  });

  it('checks the manifest even when the files match their seal', async () => {
    const { dir, manifest } = await installByHand(a);
    const verified = await verifyInstalledPack(dir, manifest, {
      expectedDigest: a.digest,
      trustedKeys: keys(),
    });
    expect(verified.stamps).not.toBeNull();
    const seal = verified.stamps ?? undefined;
    await writeFile(manifest, (await readFile(manifest, 'utf8')).replace('1.0.0', '1.0.1'));
    await expect(
      verifyInstalledPack(dir, manifest, { expectedDigest: a.digest, trustedKeys: keys() }, seal),
    ).rejects.toMatchObject({ code: 'PACK_DIGEST_MISMATCH' });
  });
});
