import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  agentOptions,
  currentHex,
  makeTempDir,
  readState,
  testAgent,
} from './helpers/agent-fixture.ts';
import { runChild } from './helpers/child-process.ts';
import { FixtureServer } from './helpers/fixture-server.ts';
import { bombPack, buildPack, signIndex } from './helpers/packs.ts';

/**
 * A pack file that inflates to far more than it declares: the agent refuses it while its
 * memory stays bounded, checking the manifest against the index before the payload.
 */

const MIB = 1024 * 1024;
/** The inflated size of the bomb's one entry (1 GiB); its file is about 1 MiB. */
const BOMB_MIB = 1024;
/** The agent's own start with room to spare, far below one inflated bomb. */
const PEAK_BOUND = 320 * MIB;

let server: FixtureServer;
let temp: { dir: string; remove: () => Promise<void> };

beforeEach(async () => {
  server = await FixtureServer.start();
  temp = await makeTempDir('bomb');
});

afterEach(async () => {
  await server.close();
  await temp.remove();
});

/**
 * A `--import` module that writes the process's peak resident set size (bytes) to `file`
 * when it exits: a measure of memory, not of time.
 */
function peakRecorder(file: string): string {
  const code = `import { writeFileSync } from 'node:fs';
process.on('exit', () => writeFileSync(${JSON.stringify(file)}, String(process.resourceUsage().maxRSS * 1024)));`;
  return `--import=data:text/javascript,${encodeURIComponent(code)}`;
}

describe('a pack file that inflates beyond its manifest', () => {
  it('is refused by an agent process whose peak memory stays far below the inflated size', async () => {
    const bomb = await bombPack({ version: '1.0.0', sequence: 1, mebibytes: BOMB_MIB });
    expect(bomb.bytes.byteLength).toBeLessThan(2 * MIB);
    server.servePack(bomb);
    server.publish(signIndex({ version: 1, packs: [bomb] }));
    const dir = join(temp.dir, 'agent');
    const peakFile = join(temp.dir, 'peak');
    const run = runChild(agentOptions(server.url, dir), undefined, 60_000, [
      peakRecorder(peakFile),
    ]);
    const exit = await run.exited;
    expect(exit.output).toContain('done rejected');
    expect(exit.code).toBe(0);
    expect((await readState(dir)).lastAttempt).toMatchObject({
      kind: 'verify',
      pack: bomb.digest,
      result: 'failed',
      code: 'PACK_FILE_HASH_MISMATCH',
    });
    expect(await currentHex(dir)).toBeNull();
    expect(Number(await readFile(peakFile, 'utf8'))).toBeLessThan(PEAK_BOUND);
  });

  it('is refused for its manifest digest before its payload is inflated', async () => {
    // The index names another pack; the bytes served under its digest are the bomb.
    const named = await buildPack({ version: '1.0.0', sequence: 1 });
    const bomb = await bombPack({ version: '1.0.1', sequence: 1, mebibytes: BOMB_MIB });
    server.servePack(named, bomb.bytes);
    server.publish(signIndex({ version: 1, packs: [named] }));
    const outcome = await testAgent(server.url, temp.dir).syncOnce();
    expect(outcome).toMatchObject({ kind: 'rejected', code: 'PACK_DIGEST_MISMATCH' });
  });

  it('installs a pack it accepts from the stream, file by file', async () => {
    const pack = await buildPack({
      version: '1.0.0',
      sequence: 1,
      files: { 'a/one.txt': 'one', 'a/b/two.txt': 'two', 'three.txt': 'three' },
      gzip: true,
    });
    server.servePack(pack);
    server.publish(signIndex({ version: 1, packs: [pack] }));
    expect(await testAgent(server.url, temp.dir).syncOnce()).toEqual({
      kind: 'committed',
      pack: pack.digest,
    });
    const current = join(temp.dir, 'current');
    expect(await readFile(join(current, 'a', 'b', 'two.txt'), 'utf8')).toBe('two');
    expect(await readFile(join(current, 'three.txt'), 'utf8')).toBe('three');
  });
});
