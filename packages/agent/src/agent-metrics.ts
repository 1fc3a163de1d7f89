/**
 * The agent's own Prometheus metrics: what this one target runs and does, for a Prometheus that
 * scrapes the agent (`metricsListen`, `lockgate agent --metrics-listen HOST:PORT`).
 *
 * Names start with `lockgate_target_`, not `lockgate_agent_`: the server already exports
 * `lockgate_agent_*` totals of what every agent reported, and a PromQL sum over both would count
 * each event twice. Label values are bounded sets (phases, results, codes, the pack name, the
 * target's env and channel); the target id is never a label — the scrape's `instance` tells
 * targets apart. Counters start at zero when the agent starts; gauges are read from the agent at
 * scrape time.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LockgateError } from '@lockgate/core';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { AgentEvent } from './agent-events.ts';
import type { Phase } from './agent-machine.ts';
import type { ListenAddress } from './agent-options.ts';
import type { AgentState } from './agent-state.ts';

/** Every phase of the machine (agent-machine.ts), as the compiler checks. */
const MACHINE_PHASES: Record<Phase['kind'], true> = {
  idle: true,
  'resuming-trial': true,
  'checking-active': true,
  repairing: true,
  'checking-lkg': true,
  indexing: true,
  downloading: true,
  verifying: true,
  refreshing: true,
  installing: true,
  activating: true,
  trial: true,
  reverting: true,
};

/** What the agent is doing: a machine phase, or `starting` before its directory is recovered. */
export type AgentPhase = Phase['kind'] | 'starting';

export const AGENT_PHASES: readonly AgentPhase[] = [
  'starting',
  ...(Object.keys(MACHINE_PHASES) as Phase['kind'][]),
];

/** Phases in which a trial is under way: the pack is (being) activated and not yet committed. */
const TRIAL_PHASES: ReadonlySet<AgentPhase> = new Set([
  'resuming-trial',
  'activating',
  'trial',
  'reverting',
]);

/** What the gauges read from the agent at scrape time. */
export interface AgentSnapshot {
  phase: AgentPhase;
  /** null before the directory is recovered */
  state: AgentState | null;
  /** the active pack's name and sequence, when the agent has seen them */
  activePack: { name: string; sequence: number } | null;
}

export const METRICS_PATH = '/metrics';

interface LastVerification {
  ok: boolean;
  code: string;
  /** Unix milliseconds */
  at: number;
}

export class AgentMetrics {
  readonly registry = new Registry();
  readonly #verifications: Counter<'result' | 'code'>;
  readonly #fetchBytes: Counter;
  readonly #fetchFailures: Counter<'code'>;
  readonly #reverts: Counter<'code'>;
  readonly #activations: Counter;
  readonly #indexRejections: Counter<'code'>;
  #last: LastVerification | null = null;

  /**
   * `read` gives the agent's state at scrape time; `processMetrics` adds prom-client's process
   * and Node.js metrics (for the agent daemon, not for an agent inside another program).
   */
  constructor(options: {
    env: string;
    channel: string;
    read: () => AgentSnapshot;
    processMetrics?: boolean;
  }) {
    const { read } = options;
    const registers = [this.registry];
    if (options.processMetrics === true) collectDefaultMetrics({ register: this.registry });

    const info = new Gauge<'env' | 'channel'>({
      name: 'lockgate_target_info',
      help: 'The environment and channel the agent follows (always 1).',
      labelNames: ['env', 'channel'],
      registers,
    });
    info.set({ env: options.env, channel: options.channel }, 1);
    new Gauge<'phase'>({
      name: 'lockgate_target_phase',
      help: 'What the agent is doing: 1 for the current phase, 0 for the others.',
      labelNames: ['phase'],
      registers,
      collect() {
        const { phase } = read();
        for (const each of AGENT_PHASES) this.set({ phase: each }, each === phase ? 1 : 0);
      },
    });
    new Gauge<'name'>({
      name: 'lockgate_target_active_pack_sequence',
      help: 'Sequence of the pack that runs, by pack name; absent when none runs or it is not known yet.',
      labelNames: ['name'],
      registers,
      collect() {
        this.reset();
        const { activePack } = read();
        if (activePack !== null) this.set({ name: activePack.name }, activePack.sequence);
      },
    });
    new Gauge({
      name: 'lockgate_target_trial_in_progress',
      help: '1 while a pack is on trial (activated, not yet committed or reverted), else 0.',
      registers,
      collect() {
        this.set(TRIAL_PHASES.has(read().phase) ? 1 : 0);
      },
    });
    new Gauge({
      name: 'lockgate_target_index_version',
      help: 'Highest channel index version the agent accepted on its channel (0 before any).',
      registers,
      collect() {
        this.set(read().state?.highestSeenIndexVersion ?? 0);
      },
    });
    const last = (): LastVerification | null => this.#last;
    new Gauge<'result' | 'code'>({
      name: 'lockgate_target_last_verification_timestamp_seconds',
      help: 'Unix time of the last pack verification, labelled with its result and code (OK when it passed); absent before any.',
      labelNames: ['result', 'code'],
      registers,
      collect() {
        this.reset();
        const seen = last() ?? fromState(read().state);
        if (seen !== null) {
          this.set({ result: seen.ok ? 'ok' : 'failed', code: seen.code }, seen.at / 1000);
        }
      },
    });
    this.#verifications = new Counter<'result' | 'code'>({
      name: 'lockgate_target_verifications_total',
      help: 'Pack verifications since the agent started, by result and code (OK when it passed).',
      labelNames: ['result', 'code'],
      registers,
    });
    this.#fetchBytes = new Counter({
      name: 'lockgate_target_pack_fetch_bytes_total',
      help: 'Bytes of pack files received from the server (resumed downloads count what arrived).',
      registers,
    });
    this.#fetchFailures = new Counter<'code'>({
      name: 'lockgate_target_pack_fetch_failures_total',
      help: 'Pack downloads that failed, by code.',
      labelNames: ['code'],
      registers,
    });
    this.#reverts = new Counter<'code'>({
      name: 'lockgate_target_reverts_total',
      help: 'Trials that went back to the previous pack (or the LKG on start), by code.',
      labelNames: ['code'],
      registers,
    });
    this.#activations = new Counter({
      name: 'lockgate_target_activations_total',
      help: 'Packs activated (the current link flipped to start a trial).',
      registers,
    });
    this.#indexRejections = new Counter<'code'>({
      name: 'lockgate_target_index_rejections_total',
      help: 'Channel indexes refused (signature, expiry, replay, size), by code.',
      labelNames: ['code'],
      registers,
    });
    this.#fetchBytes.inc(0);
    this.#activations.inc(0);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** Counts what an agent event says. */
  observe({ name, event }: AgentEvent, now: Date): void {
    switch (name) {
      case 'verified':
        this.#verified(true, 'OK', now);
        return;
      case 'rejected':
        if (event.stage === 'index') this.#indexRejections.inc({ code: event.code });
        else this.#verified(false, event.code, now);
        return;
      case 'repaired':
        this.#verified(false, event.code, now);
        return;
      case 'activated':
        this.#activations.inc();
        return;
      case 'reverted':
        this.#reverts.inc({ code: event.code });
        return;
      default:
        return;
    }
  }

  fetched(bytes: number): void {
    this.#fetchBytes.inc(bytes);
  }

  fetchFailed(code: string): void {
    this.#fetchFailures.inc({ code });
  }

  #verified(ok: boolean, code: string, now: Date): void {
    this.#verifications.inc({ result: ok ? 'ok' : 'failed', code });
    this.#last = { ok, code, at: now.getTime() };
  }
}

/** The last verification the saved state remembers (a refusal), before any this run. */
function fromState(state: AgentState | null): LastVerification | null {
  const attempt = state?.lastAttempt;
  if (attempt === undefined || attempt === null || attempt.kind !== 'verify') return null;
  const at = Date.parse(attempt.at);
  if (!Number.isFinite(at)) return null;
  return { ok: attempt.result === 'ok', code: attempt.code ?? 'OK', at };
}

/** A running metrics listener. */
export interface MetricsListener {
  readonly address: ListenAddress;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` on the address until closed; anything else is 404. ADDRESS_IN_USE when
 * the port is taken, BAD_REQUEST when the address cannot be listened on.
 */
export async function listenForMetrics(
  metrics: AgentMetrics,
  address: ListenAddress,
): Promise<MetricsListener> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== METRICS_PATH || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      response.end(`Only GET ${METRICS_PATH} is served here.\n`);
      return;
    }
    metrics.render().then(
      (body) => {
        response.writeHead(200, { 'content-type': metrics.contentType });
        response.end(request.method === 'HEAD' ? undefined : body);
      },
      () => {
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        response.end('The metrics could not be collected.\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code;
    const where = `${address.host}:${address.port}`;
    throw new LockgateError(
      code === 'EADDRINUSE' ? 'ADDRESS_IN_USE' : 'BAD_REQUEST',
      `The agent cannot serve metrics on ${where}: ${(error as Error).message}.`,
      { cause: error, details: { host: address.host, port: address.port } },
    );
  });
  const bound = server.address() as AddressInfo;
  return {
    address: { host: address.host, port: bound.port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
