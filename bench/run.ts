import { checkinBench } from './checkin.ts';
import { fleetBench } from './fleet/fleet-bench.ts';
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
  fleet: {
    about:
      'simulated agents through a scenario: release and convergence time, propagation, server CPU/RSS (--agents, --scenario FILE, --mode stream|poll, --streams N, --postgres URL)',
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
