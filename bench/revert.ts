import { mkdir, mkdtemp, rename, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LockgateError } from '@lockgate/core';
import type { Digest, PublicKeyInfo } from '@lockgate/core';
import { AgentPaths } from '../packages/agent/src/agent-state.ts';
import { checkInstalled } from '../packages/agent/src/pack-repair.ts';
import { flipCurrent, installPack, packDir } from '../packages/agent/src/pack-install.ts';
import type { PackSeals } from '../packages/agent/src/pack-seal.ts';
import { verifyPackFile } from '../packages/agent/src/pack-verification.ts';
import { writeBigPack } from './lib/big-pack.ts';
import { quantile } from './lib/load.ts';
import { numberFlag, printTable } from './lib/table.ts';

/**
 * A revert: the agent's check of the previous pack (installed, `checkInstalled`) and its flip
 * back to it, as the machine's `verify` and `flip` effects run them. Measured with the pack's
 * seal, as the process that installed it holds it (ADR 0022), and without (every file hashed
 * again, as before the seals and as after a restart), against a bare symlink + rename.
 */
export async function revertBench(flags: Map<string, string>): Promise<void> {
  const mib = numberFlag(flags, 'mib', 256);
  const files = numberFlag(flags, 'files', 8);
  const reverts = numberFlag(flags, 'reverts', 10);
  const dir = await mkdtemp(join(tmpdir(), 'lockgate-revert-bench-'));
  try {
    const paths = new AgentPaths(join(dir, 'agent'));
    await mkdir(paths.packs, { recursive: true });
    const packPath = join(dir, 'big.pack');
    const { digest, trustedKeys } = await writeBigPack(packPath, { mib, files });
    const contents = await verifyPackFile(packPath, { expectedDigest: digest, trustedKeys });
    const seals: PackSeals = new Map();
    const stamps = await installPack(paths, digest, contents.manifest, contents.files);
    if (stamps === null) throw new Error('The pack was installed already.');
    seals.set(digest, stamps);
    // The trial pack the revert leaves: only its directory, `current` points at it.
    const trial = `sha256:${'b'.repeat(64)}` as const;
    await mkdir(packDir(paths, trial));

    const sealed = new Float64Array(reverts);
    const hashed = new Float64Array(reverts);
    const bare = new Float64Array(reverts);
    for (let i = 0; i < reverts; i++) {
      await flipCurrent(paths, trial);
      sealed[i] = await timedRevert(paths, digest, trustedKeys, seals);
      await flipCurrent(paths, trial);
      hashed[i] = await timedRevert(paths, digest, trustedKeys, undefined);
      const started = performance.now();
      const link = join(dir, `bare.tmp-${i}`);
      await symlink(i % 2 === 0 ? 'agent/packs/a' : 'agent/packs/b', link);
      await rename(link, join(dir, 'bare-current'));
      bare[i] = performance.now() - started;
    }
    for (const times of [sealed, hashed, bare]) times.sort();
    const row = (what: string, times: Float64Array): (string | number)[] => [
      what,
      quantile(times, 0.5),
      quantile(times, 0.99),
      quantile(bare, 0.5),
      quantile(bare, 0.99),
      quantile(times, 0.5) / quantile(bare, 0.5),
      10,
    ];
    printTable(
      `revert to an installed ${mib} MiB pack (${files} files): check + flip, ${reverts} reverts`,
      ['what', 'p50 ms', 'p99 ms', 'bare p50 ms', 'bare p99 ms', '÷ bare p50', 'budget ms'],
      [
        row('sealed (the process installed it)', sealed),
        row('hashed again (no seal: before, or after a restart)', hashed),
      ],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function timedRevert(
  paths: AgentPaths,
  digest: Digest,
  trustedKeys: PublicKeyInfo[],
  seals: PackSeals | undefined,
): Promise<number> {
  const started = performance.now();
  const check = await checkInstalled(paths, digest, trustedKeys, seals);
  if (check instanceof LockgateError) throw check;
  await flipCurrent(paths, digest);
  return performance.now() - started;
}
