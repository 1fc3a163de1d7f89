import { mkdir, mkdtemp, rename, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentPaths } from '../packages/agent/src/agent-state.ts';
import { flipCurrent, packDir } from '../packages/agent/src/pack-install.ts';
import { quantile } from './lib/load.ts';
import { numberFlag, printTable } from './lib/table.ts';

/**
 * The activation flip: the agent's `flipCurrent` (new link renamed over `current`, directory
 * fsynced) between two installed packs, against a bare symlink + rename without the fsync, in
 * the same run. What a revert costs once the previous pack is known good is this flip.
 */
export async function flipBench(flags: Map<string, string>): Promise<void> {
  const flips = numberFlag(flags, 'flips', 500);
  const dir = await mkdtemp(join(tmpdir(), 'lockgate-flip-bench-'));
  try {
    const paths = new AgentPaths(dir);
    const a = `sha256:${'a'.repeat(64)}` as const;
    const b = `sha256:${'b'.repeat(64)}` as const;
    await mkdir(packDir(paths, a), { recursive: true });
    await mkdir(packDir(paths, b), { recursive: true });
    const lockgate = new Float64Array(flips);
    const bare = new Float64Array(flips);
    for (let i = 0; i < flips; i++) {
      let started = performance.now();
      await flipCurrent(paths, i % 2 === 0 ? a : b);
      lockgate[i] = performance.now() - started;
      started = performance.now();
      const link = join(dir, `bare.tmp-${i}`);
      await symlink(i % 2 === 0 ? 'packs/a' : 'packs/b', link);
      await rename(link, join(dir, 'bare-current'));
      bare[i] = performance.now() - started;
    }
    lockgate.sort();
    bare.sort();
    printTable(
      `activation flip: ${flips} flips between two installed packs`,
      ['what', 'p50 ms', 'p99 ms', 'bare p50 ms', 'bare p99 ms', 'p99 budget ms'],
      [
        [
          'flipCurrent (fsync)',
          quantile(lockgate, 0.5),
          quantile(lockgate, 0.99),
          quantile(bare, 0.5),
          quantile(bare, 0.99),
          10,
        ],
      ],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
