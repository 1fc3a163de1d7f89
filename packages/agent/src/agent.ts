/**
 * The agent's shell: it runs the effects the machine (agent-machine.ts) asks for — disk,
 * network, health checks, events, reports — and feeds what they found back as the next
 * observation. Every decision about what runs, what is saved and in which order is the
 * machine's; the shell adds the loops (poll, events, reports) and one lock: syncs and the
 * recovery run one at a time (`#exclusive`). See README.md.
 */
import { EventEmitter } from 'node:events';
import type {
  AgentEvent,
  AgentEventMap,
  AgentStatus,
  RecoveryResult,
  SyncOutcome,
} from './agent-events.ts';
import { followIndexEvents, isNewerIndexEvent, sleep, Wakeup } from './agent-loops.ts';
import { abandon, initialMachineState, step } from './agent-machine.ts';
import type { Effect, MachineConfig, MachineState, Observation } from './agent-machine.ts';
import { openAgentDirectory } from './agent-directory.ts';
import { AgentMetrics, listenForMetrics } from './agent-metrics.ts';
import type { MetricsListener } from './agent-metrics.ts';
import { resolveAgentOptions } from './agent-options.ts';
import { Reporter, serverWarning } from './agent-report.ts';
import type { AgentOptions, ListenAddress, ResolvedAgentOptions } from './agent-options.ts';
import {
  AgentPaths,
  clearTrial,
  loadTrial,
  saveState,
  saveStoredIndex,
  saveTrial,
} from './agent-state.ts';
import type { StoredIndex } from './agent-state.ts';
import { checkPackHealth, trialHealthCheck } from './health-check.ts';
import type { PackHealthCheck } from './health-check.ts';
import { fetchIndexObservation, messageOf } from './index-fetch.ts';
import { PackCache } from './pack-cache.ts';
import { PackEffects } from './pack-effects.ts';
import { agentSnapshot, PackNames } from './pack-names.ts';
import { ServerClient } from './server-client.ts';

type Done = Extract<Effect, { type: 'sync-done' | 'recovery-done' }>;

/** Creates an agent; nothing happens until `start()` (or `recover()` / `syncOnce()`). */
export function createAgent(options: AgentOptions): Agent {
  return new Agent(resolveAgentOptions(options));
}

/**
 * The runtime agent: sync the signed channel index, fetch and verify the desired pack,
 * activate it with one atomic flip, run a trial, commit or revert, report.
 */
export class Agent extends EventEmitter<AgentEventMap> {
  readonly options: Readonly<ResolvedAgentOptions>;
  readonly #paths: AgentPaths;
  readonly #client: ServerClient;
  readonly #config: MachineConfig;
  #machine: MachineState | null = null;
  #recovery: Promise<RecoveryResult> | null = null;
  readonly #packs: PackEffects;
  readonly #wakeup = new Wakeup();
  #stored: StoredIndex | null = null;
  #tail: Promise<unknown> = Promise.resolve();
  #reporting: Promise<unknown> = Promise.resolve();
  readonly #reporter: Reporter;
  #run: { controller: AbortController; loops: Promise<void>[] } | null = null;
  readonly #metrics: AgentMetrics;
  #listener: MetricsListener | null = null;
  readonly #packNames = new PackNames();

  constructor(options: Readonly<ResolvedAgentOptions>) {
    super();
    this.options = options;
    this.#paths = new AgentPaths(options.dir);
    this.#client = ServerClient.forAgent(options);
    this.#metrics = new AgentMetrics({
      env: options.env,
      channel: options.channel,
      read: () => agentSnapshot(this.#machine, this.#packNames),
      processMetrics: options.metricsListen !== null,
    });
    const cache = new PackCache(this.#paths.cache, options.cacheMaxBytes, (bytes) =>
      this.#metrics.fetched(bytes),
    );
    this.#packs = new PackEffects(this.#paths, cache, this.#client, options.buildKeys);
    this.#config = { ...options, runtime: options, healthCheck: options.healthCheck !== null };
    this.#reporter = new Reporter(this.#client, options, {
      state: () => this.#machine?.agent ?? null,
      trialRunning: async () => (await loadTrial(this.#paths).catch(() => null)) !== null,
      check: async (signal) => {
        const result = await checkPackHealth(this.#healthCheck(), signal);
        this.#feed({ type: 'health-sampled', ok: result.ok, detail: result.detail });
        return result;
      },
      onWarning: (warning) => this.emit('warning', warning),
    });
  }

  /** The agent directory's layout. */
  get paths(): AgentPaths {
    return this.#paths;
  }

  /** The agent's own Prometheus metrics (served on `metricsListen` while it runs, when set). */
  get metrics(): AgentMetrics {
    return this.#metrics;
  }

  /** Where the metrics are served while the agent runs (the bound port for port 0), else null. */
  get metricsAddress(): ListenAddress | null {
    return this.#listener?.address ?? null;
  }

  status(): AgentStatus {
    const machine = this.#requireMachine();
    const running = this.#run !== null;
    return { state: structuredClone(machine.agent), indexVersion: machine.indexVersion, running };
  }

  /**
   * Recovers the directory, registers, then syncs on every poll interval and on every index
   * event, and reports on the report interval, until `stop()`.
   */
  async start(): Promise<void> {
    if (this.#run !== null) return;
    const controller = new AbortController();
    this.#run = { controller, loops: [] };
    try {
      const listen = this.options.metricsListen;
      if (listen !== null) this.#listener = await listenForMetrics(this.#metrics, listen);
      await this.recover();
    } catch (error) {
      this.#run = null;
      await this.#closeListener();
      throw error;
    }
    const { signal } = controller;
    this.#run.loops.push(this.#syncLoop(signal), this.#reportLoop(signal));
    if (this.options.events) this.#run.loops.push(this.#eventLoop(signal));
  }

  /** Stops the loops and waits for them; an unfinished trial is resolved on the next start. */
  async stop(): Promise<void> {
    const run = this.#run;
    if (run === null) return;
    run.controller.abort();
    this.#wakeup.interrupt();
    await Promise.allSettled(run.loops);
    await this.#tail.catch(() => undefined);
    await this.#reporting.catch(() => undefined);
    await this.#closeListener();
    this.#run = null;
  }

  async #closeListener(): Promise<void> {
    const listener = this.#listener;
    this.#listener = null;
    await listener?.close();
  }

  /**
   * Brings the directory to a consistent state, once: removes leftovers of interrupted writes,
   * resolves an interrupted trial, re-verifies the active pack and repairs it or stops serving it.
   */
  recover(): Promise<RecoveryResult> {
    this.#recovery ??= this.#exclusive(() => this.#recover());
    return this.#recovery;
  }

  /** One sync, trial included, to its outcome. */
  async syncOnce(): Promise<SyncOutcome> {
    await this.recover();
    return this.#exclusive(() => this.#sync(this.#run?.controller.signal));
  }

  /** Sends one report (active pack, last attempt, health and traffic deltas). False when it failed. */
  report(): Promise<boolean> {
    const next = this.#reporting.then(() => this.#reporter.report(this.#run?.controller.signal));
    this.#reporting = next.catch(() => undefined);
    return next;
  }

  // ---- driving the machine --------------------------------------------------------------

  async #recover(): Promise<RecoveryResult> {
    const { env, channel, serverKeys } = this.options;
    const serverKeyIds = serverKeys.map((k) => k.keyId);
    const { agent, stored, trial } = await openAgentDirectory(this.#paths, {
      env,
      channel,
      serverKeyIds,
    });
    this.#stored = stored;
    if (stored !== null) this.#packNames.learnEnvelope(stored.envelope);
    this.#machine = initialMachineState(agent);
    const done = await this.#drive({ type: 'recover', agent, trial }, undefined);
    if (done.type !== 'recovery-done') throw new Error('The recovery ended as a sync.');
    return done.result;
  }

  async #sync(signal: AbortSignal | undefined): Promise<SyncOutcome> {
    await this.#reporter.register(signal);
    const done = await this.#drive({ type: 'sync' }, signal);
    if (done.type !== 'sync-done') throw new Error('The sync ended as a recovery.');
    return done.outcome;
  }

  /** Feeds the observation, runs the effects; an effect's answer is fed before the rest run. */
  async #drive(first: Observation, signal: AbortSignal | undefined): Promise<Done> {
    let queue = this.#feed(first);
    try {
      for (;;) {
        const effect = queue.shift();
        if (effect === undefined) throw new Error('The agent machine stopped without an outcome.');
        if (effect.type === 'sync-done' || effect.type === 'recovery-done') return effect;
        const answer = await this.#execute(effect, signal);
        if (answer !== undefined) queue = [...this.#feed(answer), ...queue];
      }
    } catch (error) {
      this.#machine = abandon(this.#requireMachine());
      this.#packs.reset();
      throw error;
    }
  }

  #feed(observation: Observation): Effect[] {
    const now = this.options.clock.now();
    if (observation.type === 'index-accepted') this.#packNames.learn(observation.index.packs);
    else if (observation.type === 'download-failed') {
      this.#metrics.fetchFailed(observation.code);
    }
    const next = step(this.#config, this.#requireMachine(), observation, now);
    this.#machine = next.state;
    return next.effects;
  }

  async #execute(effect: Effect, signal: AbortSignal | undefined): Promise<Observation | void> {
    switch (effect.type) {
      case 'save-state':
        return saveState(this.#paths, this.#requireMachine().agent);
      case 'save-trial':
        return saveTrial(this.#paths, effect.trial);
      case 'clear-trial':
        return clearTrial(this.#paths);
      case 'store-index':
        this.#stored = effect.stored;
        return saveStoredIndex(this.#paths, effect.stored);
      case 'fetch-index': {
        const input = { stored: this.#stored, state: this.#requireMachine().agent, signal };
        return fetchIndexObservation(this.#client, this.options, input);
      }
      case 'fetch-pack':
      case 'verify':
      case 'discard':
      case 'install':
      case 'flip':
      case 'uninstall':
      case 'prune':
      case 'repair':
        return this.#packs.run(effect, signal, (message) => {
          this.emit('warning', { code: 'ACTIVATION_FAILED', message });
        });
      case 'health-check':
        return trialHealthCheck(() => this.#healthCheck(), effect.afterMs, signal);
      case 'emit':
        return this.#emit(effect.event);
      case 'report':
        if (effect.wait) await this.report();
        else void this.report();
        return;
      case 'request-sync':
        return this.#wakeup.request();
      case 'sync-done':
      case 'recovery-done':
        throw new Error(`${effect.type} ends a run; it is not run.`);
    }
  }

  #healthCheck(): PackHealthCheck {
    const { healthCheck: spec, fetch, targetId } = this.options;
    const pack = this.#requireMachine().agent.active;
    return { spec, fetch, packDir: this.#paths.current, pack, targetId };
  }

  #emit(agentEvent: AgentEvent): void {
    const { name, event } = agentEvent;
    if (agentEvent.name === 'verified') {
      const { pack, name: packName, sequence } = agentEvent.event;
      this.#packNames.set(pack, packName, sequence);
    }
    this.#metrics.observe(agentEvent, this.options.clock.now());
    (this.emit as (name: string, event: unknown) => boolean)(name, event);
  }

  // ---- loops ----------------------------------------------------------------------------

  async #syncLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      this.#wakeup.take();
      try {
        await this.#exclusive(() => this.#sync(signal));
      } catch (error) {
        this.emit('warning', { code: 'SYNC_FAILED', message: messageOf(error) });
      }
      await this.#wakeup.wait(this.options.pollIntervalMs, signal);
    }
  }

  async #reportLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.report().catch((error: unknown) => {
        this.emit('warning', { code: 'REPORT_FAILED', message: messageOf(error) });
      });
      await sleep(this.#reporter.nextDelayMs(), signal);
    }
  }

  /** Listens to the channel's events; an `index` event newer than what was seen wakes the sync. */
  #eventLoop(signal: AbortSignal): Promise<void> {
    return followIndexEvents(this.#client, this.options, signal, {
      onEvent: (data) => {
        const highest = this.#machine?.agent.highestSeenIndexVersion ?? -1;
        if (data === null || isNewerIndexEvent(data, highest)) this.#wakeup.request();
      },
      onError: (error) => this.#warn(error),
    });
  }

  // ---- helpers --------------------------------------------------------------------------

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn, fn);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  #requireMachine(): MachineState {
    if (this.#machine === null) throw new Error('The agent has not recovered its directory yet.');
    return this.#machine;
  }

  #warn(error: unknown): void {
    this.emit('warning', serverWarning(error));
  }
}
