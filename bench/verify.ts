import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { PACK_READ_BYTES, verifyPackArchive } from '@lockgate/core';
import { hashFile } from '../packages/agent/src/pack-verification.ts';
import { writeBigPack } from './lib/big-pack.ts';
import { numberFlag, printTable } from './lib/table.ts';

const run = promisify(execFile);

/** Seconds `task` takes (wall clock). */
async function timed(task: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await task();
  return (performance.now() - started) / 1000;
}

/** Best of `n` runs: the machine is shared, the fastest run is the least disturbed. */
async function best(n: number, task: () => Promise<unknown>): Promise<number> {
  let fastest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < n; i++) fastest = Math.min(fastest, await timed(task));
  return fastest;
}

/**
 * Pack verification against coreutils on the same file, in the same run: `sha256sum` of the
 * pack, `tar xzf` of it, core's verifyPackArchive streaming it (verify only, and verify while
 * writing every file out: one pass of read, inflate, hash, write), and hashing one large file
 * as the agent does against `sha256sum` of it.
 */
export async function verifyBench(flags: Map<string, string>): Promise<void> {
  const mib = numberFlag(flags, 'mib', 256);
  const files = numberFlag(flags, 'files', 8);
  const repeat = numberFlag(flags, 'repeat', 3);
  const dir = await mkdtemp(join(tmpdir(), 'lockgate-verify-bench-'));
  try {
    const packPath = join(dir, 'big.pack');
    const { trustedKeys } = await writeBigPack(packPath, { mib, files });
    const bigFile = join(dir, 'big.bin');
    await writeFile(bigFile, randomBytes(mib * 1024 * 1024));

    const sha256sum = await best(repeat, () => run('sha256sum', [packPath]));
    const tarX = await best(repeat, async () => {
      const out = join(dir, 'tar-out');
      await rm(out, { recursive: true, force: true });
      await mkdir(out);
      await run('tar', ['xzf', packPath, '-C', out]);
    });
    const verifyOnly = await best(repeat, () =>
      verifyPackArchive(createReadStream(packPath, { highWaterMark: PACK_READ_BYTES }), {
        trustedKeys,
      }),
    );
    const verifySmallReads = await best(repeat, () =>
      verifyPackArchive(createReadStream(packPath), { trustedKeys }),
    );
    const verifyExtract = await best(repeat, async () => {
      const out = join(dir, 'lockgate-out');
      await rm(out, { recursive: true, force: true });
      await verifyPackArchive(createReadStream(packPath, { highWaterMark: PACK_READ_BYTES }), {
        trustedKeys,
        onFile: async (file, content) => {
          const target = join(out, file.path);
          await mkdir(dirname(target), { recursive: true });
          await pipeline(content, createWriteStream(target));
        },
      });
    });
    const fileSum = await best(repeat, () => run('sha256sum', [bigFile]));
    const fileHash = await best(repeat, () => hashFile(bigFile));
    const rows: (string | number)[][] = [
      [
        'pack verify (no write)',
        verifyOnly,
        'sha256sum + tar x',
        sha256sum + tarX,
        (sha256sum + tarX) / verifyOnly,
      ],
      [
        'pack verify (64 KiB reads)',
        verifySmallReads,
        'sha256sum + tar x',
        sha256sum + tarX,
        (sha256sum + tarX) / verifySmallReads,
      ],
      [
        'pack verify + extract',
        verifyExtract,
        'sha256sum + tar x',
        sha256sum + tarX,
        (sha256sum + tarX) / verifyExtract,
      ],
      ['file hashing', fileHash, 'sha256sum', fileSum, fileSum / fileHash],
    ];
    printTable(
      `verification: ${mib} MiB pack (${files} files, gzip), best of ${repeat}; sha256sum ${sha256sum.toFixed(2)} s, tar x ${tarX.toFixed(2)} s`,
      ['what', 'lockgate s', 'baseline', 'baseline s', 'ratio (≥1 is faster)'],
      rows,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
