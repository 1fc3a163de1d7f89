import { checkinBench } from './checkin.ts';
import { flipBench } from './flip.ts';
import { fleetBench } from './fleet/fleet-bench.ts';
import { ingestBench } from './ingest.ts';
import { propagationBench } from './propagation.ts';
import { replicasBench } from './replicas.ts';
import { revertBench } from './revert.ts';
import { tickBench } from './tick.ts';
import { verifyBench } from './verify.ts';
import { flagsOf } from './lib/table.ts';

/**
 * `npm run bench -- NAME [--flag value ...]`: one benchmark per figure, each printing Lockgate's
 * figure, its baseline measured in the same run and their ratio. `npm run bench` alone (or
 * `-- all [--postgres URL]`) runs every one in its default configuration.
 */
const BENCHES: Record<
  string,
  { about: string; run: (flags: Map<string, string>) => Promise<void> }
> = {
  checkin: {
    about:
      'GET desired / index 304 / index 200 vs bare node:http (--targets, --seconds, --postgres URL)',
    run: checkinBench,
  },
  ingest: {
    about:
      'POST reports vs a bare node:http POST and a raw batched write (--targets, --seconds, --connections, --per-request N: POST /reports, --postgres URL)',
    run: ingestBench,
  },
  verify: {
    about:
      'pack verify (and extract) vs sha256sum + tar x; file hashing vs sha256sum (--mib, --files, --repeat)',
    run: verifyBench,
  },
  propagation: {
    about:
      'an index change to N SSE streams, p50/p99, vs a bare node:http fan-out (--streams 1000,10000 --changes)',
    run: propagationBench,
  },
  replicas: {
    about:
      'an index change on one of two PostgreSQL replicas to SSE streams on both, p50/p99 (--streams, --changes, --postgres URL)',
    run: replicasBench,
  },
  tick: {
    about:
      'controller tick vs fleet size and reports per target (--targets 1000,10000,100000 --reports 0,1,10)',
    run: tickBench,
  },
  flip: {
    about: 'the agent activation flip vs a bare symlink + rename (--flips)',
    run: flipBench,
  },
  revert: {
    about:
      'the agent revert to an installed pack (check + flip), sealed and hashed again, vs a bare symlink + rename (--mib, --files, --reverts)',
    run: revertBench,
  },
  fleet: {
    about:
      'simulated agents through a scenario: release and convergence time, propagation, server CPU/RSS (--agents, --scenario FILE, --mode stream|poll, --streams N, --report-interval MS, --connections C, --relay N, --timeout S, --probe-commands off, --probe-pairs N, --operator-replica (PostgreSQL), --postgres URL)',
    run: fleetBench,
  },
};

/** Benchmarks that take `--postgres URL` (the others run on SQLite or need no database). */
const TAKE_POSTGRES = new Set(['checkin', 'ingest', 'replicas', 'fleet']);

const [name, ...rest] = process.argv.slice(2);
if (name === undefined || name === 'all' || name.startsWith('--')) {
  // Every benchmark in its default configuration, one table each; replicas only with
  // `--postgres URL` (it needs PostgreSQL), which the others that take it use too.
  const flags = flagsOf(name === undefined || name === 'all' ? rest : [name, ...rest]);
  const postgres = flags.get('postgres');
  for (const [key, bench] of Object.entries(BENCHES)) {
    if (key === 'replicas' && postgres === undefined) continue;
    process.stdout.write(`\n## ${key}: ${bench.about}\n`);
    const own = new Map<string, string>();
    if (postgres !== undefined && TAKE_POSTGRES.has(key)) own.set('postgres', postgres);
    await bench.run(own);
  }
} else {
  const bench = BENCHES[name];
  if (bench === undefined) {
    process.stderr.write(
      `usage: npm run bench [-- all | NAME] [--flag value]\n  (no NAME or all: every benchmark in its default configuration)\n${Object.entries(
        BENCHES,
      )
        .map(([key, value]) => `  ${key.padEnd(12)} ${value.about}`)
        .join('\n')}\n`,
    );
    process.exitCode = 2;
  } else {
    await bench.run(flagsOf(rest));
  }
}
