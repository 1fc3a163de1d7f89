import { checkinBench } from './checkin.ts';
import { flipBench } from './flip.ts';
import { fleetBench } from './fleet/fleet-bench.ts';
import { ingestBench } from './ingest.ts';
import { propagationBench } from './propagation.ts';
import { replicasBench } from './replicas.ts';
import { tickBench } from './tick.ts';
import { verifyBench } from './verify.ts';
import { flagsOf } from './lib/table.ts';

/**
 * `npm run bench -- NAME [--flag value ...]`: one benchmark per figure, each printing Lockgate's
 * figure, its baseline measured in the same run and their ratio.
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
    about: 'POST reports vs a bare node:http POST (--targets, --seconds, --postgres URL)',
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
  fleet: {
    about:
      'simulated agents through a scenario: release and convergence time, propagation, server CPU/RSS (--agents, --scenario FILE, --mode stream|poll, --streams N, --report-interval MS, --connections C, --timeout S, --postgres URL)',
    run: fleetBench,
  },
};

const [name, ...rest] = process.argv.slice(2);
const bench = name === undefined ? undefined : BENCHES[name];
if (bench === undefined) {
  process.stderr.write(
    `usage: npm run bench -- NAME [--flag value]\n${Object.entries(BENCHES)
      .map(([key, value]) => `  ${key.padEnd(12)} ${value.about}`)
      .join('\n')}\n`,
  );
  process.exitCode = 2;
} else {
  await bench.run(flagsOf(rest));
}
