import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  adminApi,
  agentToken,
  createChannel,
  pushPack,
  trustBuildKey,
} from '../lib/lockgate-api.ts';
import type { ServedProcess } from '../lib/processes.ts';
import { FleetSimulator } from './fleet-simulator.ts';

const run = promisify(execFile);
const OPERATOR = fileURLToPath(new URL('operator.ts', import.meta.url));

/**
 * A scenario drives releases through a simulated fleet: each step pushes a pack, releases it on
 * a plan, waits for the release to reach `expect` and for every agent to run `fleetOn`, with the
 * agents running the step's pack showing `errorRate`.
 */
export interface Scenario {
  description?: string;
  env: string;
  channel: string;
  mode: 'stream' | 'poll';
  streams?: number;
  pollIntervalMs?: number;
  reportIntervalMs: number;
  plans: Record<string, unknown>;
  steps: ScenarioStep[];
}

export interface ScenarioStep {
  release: string;
  plan: string;
  errorRate?: number;
  expect: string;
  fleetOn: string;
}

export interface StepResult {
  release: string;
  state: string;
  /** release created → expected state reached */
  releaseSeconds: number;
  /** release created → every agent on fleetOn */
  convergedSeconds: number;
  propagationP50Ms: number;
  propagationP99Ms: number;
  propagationSamples: number;
  /** server CPU cores used on average during the step, and RSS at its end (when known) */
  serverCpu: number;
  serverRssMiB: number;
  /** agents by the pack they run once the fleet converged (null: none) */
  counts: Map<string | null, number>;
  /**
   * with `probeCommands`: how long the operator's pause and resume took while the release
   * rolled (null when it left rolling before the pause was taken; `resume` null when the
   * controller ended the paused release first)
   */
  commandMs: CommandTimes | null;
}

export interface ScenarioResult {
  agents: number;
  registerSeconds: number;
  steps: StepResult[];
  failures: number;
  requests: number;
  /** desired answers no verified index backed (never run) */
  refusals: number;
  /** report intervals merged into a report still waiting or in flight */
  reportsMerged: number;
  /** the longest the simulator's report queue has been */
  reportQueuePeak: number;
  /** every pack some agent ran, with how many agents ran it */
  ran: Map<string, number>;
  /** releases by version → id, for callers that look further */
  releases: Map<string, string>;
  packs: Map<string, string>;
}

export async function loadScenario(path: string): Promise<Scenario> {
  return JSON.parse(await readFile(path, 'utf8')) as Scenario;
}

export async function runScenario(options: {
  server: Pick<ServedProcess, 'url' | 'cpuSeconds' | 'rssMiB'>;
  /** where the operator's commands go (default: the server the agents talk to) */
  operatorUrl?: string;
  adminToken: string;
  agents: number;
  scenario: Scenario;
  /** requests in flight at most, per pool (check-ins, reports; default 32) */
  connections?: number;
  /** reports per request (more than 1: through a relay's `POST /reports`; default 1) */
  relay?: number;
  /** bound on each wait (default 120 s) */
  timeoutMs?: number;
  /**
   * once each release is seen rolling, an operator pauses it and resumes it through the API,
   * timing both (the release goes on from where it was)
   */
  probeCommands?: boolean;
  /** pause-and-resume pairs per release with `probeCommands` (default 1), 150 ms apart */
  probePairs?: number;
}): Promise<ScenarioResult> {
  const { server, scenario } = options;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const api = adminApi(server.url, options.adminToken);
  const key = await trustBuildKey(api);
  for (const [name, plan] of Object.entries(scenario.plans))
    await api.call('PUT', `/plans/${name}`, plan);
  await createChannel(api, scenario.env, scenario.channel);
  const token = await agentToken(api, 'fleet-sim', 'sim-*', scenario.env, scenario.channel);

  const packs = new Map<string, string>();
  let faulty: { pack: string; rate: number } | null = null;
  const fleet = new FleetSimulator({
    url: server.url,
    token,
    env: scenario.env,
    channel: scenario.channel,
    agents: options.agents,
    mode: scenario.mode,
    ...(scenario.streams === undefined ? {} : { streams: scenario.streams }),
    ...(scenario.pollIntervalMs === undefined ? {} : { pollIntervalMs: scenario.pollIntervalMs }),
    reportIntervalMs: scenario.reportIntervalMs,
    ...(options.connections === undefined ? {} : { connections: options.connections }),
    ...(options.relay === undefined ? {} : { relay: options.relay }),
    errorRate: (_agent, pack) => (faulty !== null && pack === faulty.pack ? faulty.rate : 0),
  });
  const releases = new Map<string, string>();
  const steps: StepResult[] = [];
  try {
    const registerStarted = performance.now();
    await fleet.register();
    const registerSeconds = (performance.now() - registerStarted) / 1000;
    await fleet.start();
    let sequence = 0;
    for (const step of scenario.steps) {
      sequence += 1;
      const digest = await pushPack(api, key, 'sim', step.release, sequence);
      packs.set(step.release, digest);
      faulty = step.errorRate === undefined ? null : { pack: digest, rate: step.errorRate };
      fleet.resetPropagation();
      const cpu = server.cpuSeconds();
      const started = performance.now();
      const { release } = await api.call<{ release: { id: string } }>('POST', '/releases', {
        pack: digest,
        env: scenario.env,
        channel: scenario.channel,
        plan: step.plan,
        reason: `fleet simulator: ${step.release}`,
      });
      releases.set(step.release, release.id);
      let commandMs: StepResult['commandMs'] = null;
      const state = await untilSettled(api, release.id, step.expect, timeoutMs, async (seen) => {
        if (options.probeCommands !== true || seen !== 'rolling' || commandMs !== null) return;
        commandMs = await pauseAndResume(
          adminApi(options.operatorUrl ?? server.url, options.adminToken),
          release.id,
          options.probePairs ?? 1,
        );
      });
      const releaseSeconds = (performance.now() - started) / 1000;
      const target = packs.get(step.fleetOn);
      if (target === undefined) throw new Error(`fleetOn ${step.fleetOn} is not a released pack`);
      await fleet.converged(target, timeoutMs);
      const convergedSeconds = (performance.now() - started) / 1000;
      const stats = fleet.stats();
      steps.push({
        release: step.release,
        state,
        releaseSeconds,
        convergedSeconds,
        propagationP50Ms: stats.propagationP50Ms,
        propagationP99Ms: stats.propagationP99Ms,
        propagationSamples: stats.propagationSamples,
        serverCpu: (server.cpuSeconds() - cpu) / convergedSeconds,
        serverRssMiB: server.rssMiB(),
        counts: stats.counts,
        commandMs,
      });
    }
    const stats = fleet.stats();
    return {
      agents: options.agents,
      registerSeconds,
      steps,
      failures: stats.failures,
      requests: stats.requests,
      refusals: stats.refusals,
      reportsMerged: stats.reportsMerged,
      reportQueuePeak: stats.reportQueuePeak,
      ran: stats.ran,
      releases,
      packs,
    };
  } finally {
    await fleet.stop();
  }
}

const FINAL_STATES = new Set(['completed', 'rolled_back', 'aborted', 'failed']);

/**
 * An operator's pause and resume of a rolling release, timed by a process of its own
 * (operator.ts): timed here, they would include this process's event loop delay, busy with the
 * simulated fleet. Null when the release had left rolling (the pause refused): nothing changed;
 * `resume` null when the controller ended the paused release before the resume.
 */
async function pauseAndResume(
  api: ReturnType<typeof adminApi>,
  id: string,
  pairs: number,
): Promise<CommandTimes | null> {
  const { stdout } = await run(process.execPath, [OPERATOR, api.url, id, String(pairs)], {
    env: { ...process.env, LOCKGATE_TOKEN: api.token },
  });
  return JSON.parse(stdout) as CommandTimes | null;
}

/** The first pause and resume (ms), and every pair's (operator.ts). */
export interface CommandTimes {
  pause: number;
  resume: number | null;
  pauses: number[];
  resumes: number[];
}

/**
 * Waits for the release to reach `expect`; a different final state is an error at once.
 * `onState` is told each state seen (and awaited) before the next look.
 */
async function untilSettled(
  api: ReturnType<typeof adminApi>,
  id: string,
  expect: string,
  timeoutMs: number,
  onState: (state: string) => Promise<void> = async () => {},
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let state = '';
  let why: unknown = null;
  while (Date.now() < deadline) {
    const answer = await api.call<{ release: { state: string }; why: unknown }>(
      'GET',
      `/releases/${id}`,
    );
    state = answer.release.state;
    why = answer.why;
    if (state === expect) return state;
    if (FINAL_STATES.has(state)) {
      throw new Error(`release ${id} ended ${state}, not ${expect}: ${JSON.stringify(why)}`);
    }
    await onState(state);
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error(
    `release ${id} stayed ${state}, never ${expect}, in ${timeoutMs} ms: ${JSON.stringify(why)}`,
  );
}
