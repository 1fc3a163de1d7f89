import { join } from 'node:path';
import { ROOT, startLockgate } from '../lib/processes.ts';
import { numberFlag, printTable } from '../lib/table.ts';
import { loadScenario, runScenario } from './scenario.ts';

export const DEFAULT_SCENARIO = join(
  ROOT,
  'bench',
  'fleet',
  'scenarios',
  'canary-then-rollback.json',
);

/**
 * `npm run bench -- fleet`: a simulated fleet through a scenario against a server process; an
 * operator pauses and resumes each release while it rolls, timed (`--probe-commands off` not;
 * `--probe-pairs N`: N pairs per release, their p50 / p90 / max printed under the table;
 * `--operator-replica`, PostgreSQL only: through a replica that serves no agents).
 */
export async function fleetBench(flags: Map<string, string>): Promise<void> {
  const agents = numberFlag(flags, 'agents', 1000);
  const scenario = await loadScenario(flags.get('scenario') ?? DEFAULT_SCENARIO);
  if (flags.has('mode')) scenario.mode = flags.get('mode') === 'poll' ? 'poll' : 'stream';
  if (flags.has('streams')) scenario.streams = numberFlag(flags, 'streams', agents);
  if (flags.has('report-interval')) {
    scenario.reportIntervalMs = numberFlag(flags, 'report-interval', scenario.reportIntervalMs);
  }
  const connections = numberFlag(flags, 'connections', 32);
  const postgresUrl = flags.get('postgres');
  const server = await startLockgate({
    ...(postgresUrl === undefined ? {} : { postgresUrl }),
    logLevel: flags.get('log-level') ?? 'info',
    ...(flags.has('profile')
      ? { env: { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${flags.get('profile')}` } }
      : {}),
    controllerIntervalMs: numberFlag(flags, 'controller-interval', 200),
  });
  // --operator-replica: a second server on the same PostgreSQL that no agent talks to takes the
  // operator's commands (the first, started first, holds the controller lease)
  const operator = flags.has('operator-replica')
    ? await startLockgate({ replicaOf: server, logLevel: flags.get('log-level') ?? 'info' })
    : null;
  try {
    const result = await runScenario({
      server,
      ...(operator === null ? {} : { operatorUrl: operator.url }),
      adminToken: server.adminToken,
      agents,
      scenario,
      connections,
      timeoutMs: numberFlag(flags, 'timeout', 600) * 1000,
      probeCommands: flags.get('probe-commands') !== 'off',
      probePairs: numberFlag(flags, 'probe-pairs', 1),
      ...(flags.has('relay') ? { relay: numberFlag(flags, 'relay', 1) } : {}),
    });
    printTable(
      `fleet: ${agents.toLocaleString('en-US')} agents (${scenario.mode}${scenario.streams === undefined ? '' : `, ${scenario.streams} streams`}), report every ${scenario.reportIntervalMs} ms${flags.has('relay') ? ` through relays of ${numberFlag(flags, 'relay', 1)}` : ''}, ${connections} connections, ${postgresUrl === undefined ? 'SQLite' : 'PostgreSQL'}; registered in ${result.registerSeconds.toFixed(1)} s; ${result.requests.toLocaleString('en-US')} requests, ${result.failures} failed, ${result.reportsMerged.toLocaleString('en-US')} report intervals merged into a waiting report (report queue peak ${result.reportQueuePeak.toLocaleString('en-US')}), ${result.refusals} desired answers refused (not backed by the verified index)`,
      [
        'release',
        'state',
        'release s',
        'fleet converged s',
        'propagation p50 ms',
        'p99 ms',
        'samples',
        'server CPU',
        'server RSS MiB',
        'pause ms',
        'resume ms',
      ],
      result.steps.map((step) => [
        step.release,
        step.state,
        step.releaseSeconds,
        step.convergedSeconds,
        step.propagationP50Ms,
        step.propagationP99Ms,
        step.propagationSamples,
        step.serverCpu,
        step.serverRssMiB,
        step.commandMs?.pause ?? '-',
        step.commandMs?.resume ?? '-',
      ]),
    );
    if (flags.has('probe-pairs')) {
      const all = { pause: [] as number[], resume: [] as number[] };
      for (const step of result.steps) {
        all.pause.push(...(step.commandMs?.pauses ?? []));
        all.resume.push(...(step.commandMs?.resumes ?? []));
      }
      for (const [kind, times] of Object.entries(all)) {
        process.stdout.write(`${kind}: ${spread(times)}\n`);
      }
    }
  } finally {
    await operator?.stop();
    await server.stop();
  }
}

/** `n commands: p50 …, p90 …, max … ms, k over 100 ms` of a list of times. */
function spread(times: readonly number[]): string {
  if (times.length === 0) return 'no commands';
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q: number): string => (sorted[Math.floor(q * (sorted.length - 1))] ?? 0).toFixed(1);
  const over = sorted.filter((t) => t > 100).length;
  return `${sorted.length} commands: p50 ${at(0.5)}, p90 ${at(0.9)}, max ${at(1)} ms, ${over} over 100 ms`;
}
