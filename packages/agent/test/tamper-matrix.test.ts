import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ErrorCode } from '@lockgate/core';
import type { AgentOptions, RejectedEvent } from '../src/index.ts';
import { currentHex, hexOf, makeTempDir, readState, testAgent } from './helpers/agent-fixture.ts';
import { FixtureServer } from './helpers/fixture-server.ts';
import {
  addTarEntry,
  buildPack,
  flipByteInEntry,
  removeTarEntry,
  replaceInEntry,
  signIndex,
  STRANGER_KEY,
} from './helpers/packs.ts';
import type { TestPack } from './helpers/packs.ts';

const FILES = (version: string): Record<string, string> => ({
  'data.json': `{"answer":"${version}"}`,
  'notes/readme.txt': `pack ${version}\n`,
});

let server: FixtureServer;
let temp: { dir: string; remove: () => Promise<void> };
let active: TestPack;
let next: TestPack;

beforeEach(async () => {
  server = await FixtureServer.start();
  temp = await makeTempDir('tamper');
  active = await buildPack({ version: '1.0.0', sequence: 10, files: FILES('1.0.0') });
  next = await buildPack({ version: '1.1.0', sequence: 11, files: FILES('1.1.0') });
});

afterEach(async () => {
  await server.close();
  await temp.remove();
});

/** Runs an agent that commits `active` first, then offers it `candidate` in index version 2. */
async function offer(
  candidate: TestPack,
  servedBytes: Uint8Array,
  options: Partial<AgentOptions> = {},
): Promise<{
  outcome: Awaited<ReturnType<ReturnType<typeof testAgent>['syncOnce']>>;
  rejected: RejectedEvent[];
}> {
  const agent = testAgent(server.url, temp.dir, { runtimeVersion: '2.3.0', ...options });
  const rejected: RejectedEvent[] = [];
  agent.on('rejected', (event) => rejected.push(event));
  server.servePack(active);
  server.publish(signIndex({ version: 1, packs: [active] }));
  expect(await agent.syncOnce()).toEqual({ kind: 'committed', pack: active.digest });
  server.packs.set(candidate.digest, servedBytes);
  server.publish(signIndex({ version: 2, packs: [active, candidate], base: candidate }));
  const outcome = await agent.syncOnce();
  return { outcome, rejected };
}

async function expectRefused(
  candidate: TestPack,
  code: ErrorCode,
  result: Awaited<ReturnType<typeof offer>>,
): Promise<void> {
  expect(result.outcome).toMatchObject({ kind: 'rejected', pack: candidate.digest, code });
  expect(result.rejected).toEqual([
    expect.objectContaining({ pack: candidate.digest, stage: 'pack', code }),
  ]);
  expect(await currentHex(temp.dir)).toBe(hexOf(active));
  const state = await readState(temp.dir);
  expect(state.active).toBe(active.digest);
  expect(state.lkg).toBe(active.digest);
  expect(state.lastAttempt).toMatchObject({
    kind: 'verify',
    pack: candidate.digest,
    result: 'failed',
    code,
  });
  expect(server.reports().at(-1)).toMatchObject({
    activePack: active.digest,
    lastAttempt: { kind: 'verify', pack: candidate.digest, result: 'failed', code },
  });
}

describe('the tamper matrix: each verification step refuses on its own', () => {
  it('activates the untampered pack (the control every case below departs from)', async () => {
    const result = await offer(next, next.bytes);
    expect(result.outcome).toEqual({ kind: 'committed', pack: next.digest });
    expect(await currentHex(temp.dir)).toBe(hexOf(next));
  });

  it('refuses a manifest that does not match the schema with PACK_MANIFEST_INVALID', async () => {
    const bytes = replaceInEntry(
      next.bytes,
      'manifest.json',
      '"schema":"lockgate.pack/v1"',
      '"schema":"lockgate.pack/v9"',
    );
    await expectRefused(next, 'PACK_MANIFEST_INVALID', await offer(next, bytes));
  });

  it('refuses a pack whose digest is not the one the index names with PACK_DIGEST_MISMATCH', async () => {
    const other = await buildPack({ version: '1.1.1', sequence: 11, files: FILES('1.1.1') });
    await expectRefused(next, 'PACK_DIGEST_MISMATCH', await offer(next, other.bytes));
  });

  it('refuses a trusted key signature that does not verify with PACK_SIGNATURE_INVALID', async () => {
    const sig = next.manifest.signatures[0]?.sig ?? '';
    const forged = `${sig.startsWith('A') ? 'B' : 'A'}${sig.slice(1)}`;
    const bytes = replaceInEntry(next.bytes, 'manifest.json', sig, forged);
    await expectRefused(next, 'PACK_SIGNATURE_INVALID', await offer(next, bytes));
  });

  it('refuses a pack signed only by an unknown key with PACK_SIGNER_UNTRUSTED', async () => {
    // Signatures are not part of the digest: the same pack signed by a stranger has the same one.
    const stranger = await buildPack({
      version: '1.1.0',
      sequence: 11,
      files: FILES('1.1.0'),
      signers: [STRANGER_KEY],
    });
    expect(stranger.digest).toBe(next.digest);
    await expectRefused(next, 'PACK_SIGNER_UNTRUSTED', await offer(next, stranger.bytes));
  });

  it('refuses a pack that lacks a listed file with PACK_FILE_MISSING', async () => {
    const bytes = removeTarEntry(next.bytes, 'files/notes/readme.txt');
    await expectRefused(next, 'PACK_FILE_MISSING', await offer(next, bytes));
  });

  it('refuses a file whose bytes differ from the manifest with PACK_FILE_HASH_MISMATCH', async () => {
    const bytes = flipByteInEntry(next.bytes, 'files/data.json', 3);
    await expectRefused(next, 'PACK_FILE_HASH_MISMATCH', await offer(next, bytes));
  });

  it('refuses a pack holding a file the manifest does not list with PACK_FILE_UNLISTED', async () => {
    const bytes = addTarEntry(next.bytes, 'files/extra.txt', 'not in the manifest');
    await expectRefused(next, 'PACK_FILE_UNLISTED', await offer(next, bytes));
  });

  it('refuses a pack this runtime cannot run with PACK_INCOMPATIBLE', async () => {
    const needsV3 = await buildPack({
      version: '1.1.0',
      sequence: 11,
      files: FILES('1.1.0'),
      requires: { runtime: '>=3.0.0 <4' },
    });
    await expectRefused(needsV3, 'PACK_INCOMPATIBLE', await offer(needsV3, needsV3.bytes));
  });

  it('refuses a pack lacking a declared capability with PACK_INCOMPATIBLE', async () => {
    const needsSearch = await buildPack({
      version: '1.1.0',
      sequence: 11,
      files: FILES('1.1.0'),
      requires: { runtime: '^2.1', capabilities: 'lookup,search', schema: 'kb/3' },
    });
    const result = await offer(needsSearch, needsSearch.bytes, {
      capabilities: { capabilities: 'lookup', schema: 'kb/3' },
    });
    await expectRefused(needsSearch, 'PACK_INCOMPATIBLE', result);
  });

  it('refuses a pack revoked while it downloaded with PACK_REVOKED', async () => {
    server.onPackRequest = (digest) => {
      if (digest !== next.digest) return;
      server.publish(
        signIndex({ version: 3, packs: [active, next], base: active, revoked: [next.digest] }),
      );
    };
    await expectRefused(next, 'PACK_REVOKED', await offer(next, next.bytes));
  });

  it('refuses a pack below the highest sequence committed here with RELEASE_BELOW_FLOOR', async () => {
    const older = await buildPack({ version: '0.9.0', sequence: 9, files: FILES('0.9.0') });
    await expectRefused(older, 'RELEASE_BELOW_FLOOR', await offer(older, older.bytes));
  });

  it('accepts that older pack once the index carries a rollback authorization for it', async () => {
    const older = await buildPack({ version: '0.9.0', sequence: 9, files: FILES('0.9.0') });
    await offer(older, older.bytes);
    server.publish(
      signIndex({
        version: 3,
        packs: [active, older],
        base: older,
        rollbackAuthorizations: [
          {
            pack: older.digest,
            reason: 'incident 7',
            expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
          },
        ],
      }),
    );
    const agent = testAgent(server.url, temp.dir, { runtimeVersion: '2.3.0' });
    expect(await agent.syncOnce()).toEqual({ kind: 'committed', pack: older.digest });
    expect(await currentHex(temp.dir)).toBe(hexOf(older));
  });
});
