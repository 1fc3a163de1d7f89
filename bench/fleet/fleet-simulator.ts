import { Agent, request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { isLockgateError, packAllowed, parsePublicKey, verifyChannelIndex } from '@lockgate/core';
import type { ChannelIndexPayload, PublicKeyInfo } from '@lockgate/core';
import { quantile } from '../lib/load.ts';

/**
 * N simulated agents on one event loop, as cheap as can be: no packs, no disks, one keep-alive
 * connection pool. Each registers, learns of index changes by stream (SSE, `streams` streams
 * shared by the agents) or by polling, asks what it should run, "activates" it at once, and
 * reports on an interval with the health its scenario gives the pack it runs.
 *
 * Reports wait their turn in one first-come queue drained by the report connections; an agent is
 * in it at most once (an interval that finds its report still waiting or in flight is merged into
 * it and counted in `reportsMerged`), and a report's body is built when it is sent, so it carries
 * what the agent runs then, never what it ran when it was queued. When the server takes reports
 * more slowly than the fleet makes them, every agent still reports in turn, less often.
 *
 * An agent activates a pack only when the channel index, verified against the server's keys
 * (`GET /server/keys`, read once at start), allows it (core `verifyChannelIndex` and
 * `packAllowed`, as a real agent checks before it fetches a pack); a desired answer the signed
 * index does not back is refused and counted (`refusals`), never run. Each agent keeps the list
 * of packs it ran.
 *
 * Propagation of an index version to an agent = the time the agent's desired answer first
 * carries that version minus the index's `issuedAt` (server and simulator share the clock).
 */
export interface FleetOptions {
  url: string;
  /** An agent token whose scope covers `sim-*` in env/channel (or an admin token). */
  token: string;
  env: string;
  channel: string;
  agents: number;
  /** 'stream': SSE, `streams` streams; 'poll': GET desired every pollIntervalMs. */
  mode: 'stream' | 'poll';
  streams?: number;
  pollIntervalMs?: number;
  reportIntervalMs: number;
  /** Requests in flight at most (keep-alive sockets). */
  connections?: number;
  /**
   * Reports per request: 1 (default) is each agent's own `POST /targets/{id}/reports`; more is a
   * relay forwarding up to that many waiting agents' reports in one `POST /reports`.
   */
  relay?: number;
  /** The error rate an agent shows while running `pack` (0 when absent). */
  errorRate?: (agent: string, pack: string | null) => number;
  labels?: (n: number) => Record<string, string>;
}

export interface FleetStats {
  /** agents by active pack (null: none) */
  counts: Map<string | null, number>;
  propagationP50Ms: number;
  propagationP99Ms: number;
  propagationSamples: number;
  requests: number;
  failures: number;
  /** desired answers the verified index did not back (the pack was not run) */
  refusals: number;
  /** report intervals merged into the agent's report still waiting or in flight */
  reportsMerged: number;
  /** the longest the report queue has been (agents waiting for a report connection) */
  reportQueuePeak: number;
  /** every pack some agent ran at some point, with how many agents ran it */
  ran: Map<string, number>;
}

/** A channel index version, verified: its payload and `issuedAt` in ms. */
interface VerifiedIndex {
  payload: ChannelIndexPayload;
  issuedAtMs: number;
}

interface SimAgent {
  id: string;
  activePack: string | null;
  lastAttempt: { kind: 'activate'; pack: string; result: 'ok'; at: string } | null;
  etag: string | null;
  version: number;
  checking: boolean;
  again: boolean;
  /** queued or in flight */
  reporting: boolean;
  /** every pack this agent ran, in order */
  ran: string[];
}

const REQUESTS_PER_REPORT = 100;

export class FleetSimulator {
  readonly #options: FleetOptions;
  readonly #agent: Agent;
  readonly #reportAgent: Agent;
  readonly #streamAgent: Agent;
  readonly #agents: SimAgent[];
  readonly #indexes = new Map<number, Promise<VerifiedIndex | null>>();
  #serverKeys: PublicKeyInfo[] = [];
  #refusals = 0;
  #reportsInFlight = 0;
  #reportsMerged = 0;
  /** agents waiting for a report connection, first come first served, from `#reportHead` on */
  #reportQueue: SimAgent[] = [];
  #reportHead = 0;
  #reportQueuePeak = 0;
  #propagation: number[] = [];
  #timers: NodeJS.Timeout[] = [];
  #streams: IncomingMessage[] = [];
  #stopped = false;
  #requests = 0;
  #failures = 0;

  constructor(options: FleetOptions) {
    const base = new URL(options.url);
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(base.hostname)) {
      throw new Error(`The fleet simulator runs on loopback only, not ${base.hostname}.`);
    }
    this.#options = options;
    // Check-ins and reports on separate pools, as a fleet's do: reports never queue check-ins.
    this.#agent = new Agent({ keepAlive: true, maxSockets: options.connections ?? 32 });
    this.#reportAgent = new Agent({ keepAlive: true, maxSockets: options.connections ?? 32 });
    this.#streamAgent = new Agent({ keepAlive: false, maxSockets: Infinity });
    this.#agents = Array.from({ length: options.agents }, (_, n) => ({
      id: `sim-${n}`,
      activePack: null,
      lastAttempt: null,
      etag: null,
      version: 0,
      checking: false,
      again: false,
      reporting: false,
      ran: [],
    }));
  }

  /** Registers every agent (idempotent), `connections` at a time. */
  async register(): Promise<void> {
    const { env, channel } = this.#options;
    let next = 0;
    await Promise.all(
      Array.from({ length: this.#options.connections ?? 32 }, async () => {
        while (next < this.#agents.length) {
          const n = next++;
          const agent = this.#agents[n];
          if (agent === undefined) continue;
          const labels = this.#options.labels?.(n) ?? { zone: n % 2 === 0 ? 'west' : 'east' };
          await this.#call('PUT', `/targets/${agent.id}`, { env, channel, labels });
        }
      }),
    );
  }

  /** Starts checking in (stream or poll) and reporting; every agent checks in once at once. */
  async start(): Promise<void> {
    const { mode, reportIntervalMs } = this.#options;
    const keys = await this.#call('GET', '/server/keys');
    const items = (keys.body as { items?: { publicKeyPem: string }[] } | null)?.items ?? [];
    this.#serverKeys = items.map((key) => parsePublicKey(key.publicKeyPem));
    if (this.#serverKeys.length === 0) throw new Error('The server listed no keys.');
    await Promise.all(this.#agents.map((agent) => this.#checkIn(agent)));
    if (mode === 'stream') {
      const streams = Math.max(
        1,
        Math.min(this.#options.streams ?? this.#agents.length, this.#agents.length),
      );
      for (let s = 0; s < streams; s++) {
        const group = this.#agents.filter((_, n) => n % streams === s);
        this.#openStream(group);
      }
    } else {
      const every = this.#options.pollIntervalMs ?? 1000;
      this.#spread(every, (agent) => void this.#checkIn(agent));
    }
    this.#spread(reportIntervalMs, (agent) => this.#report(agent));
  }

  stats(): FleetStats {
    const counts = new Map<string | null, number>();
    for (const agent of this.#agents) {
      counts.set(agent.activePack, (counts.get(agent.activePack) ?? 0) + 1);
    }
    const sorted = Float64Array.from(this.#propagation).sort();
    const ran = new Map<string, number>();
    for (const agent of this.#agents) {
      for (const pack of new Set(agent.ran)) ran.set(pack, (ran.get(pack) ?? 0) + 1);
    }
    return {
      counts,
      propagationP50Ms: quantile(sorted, 0.5),
      propagationP99Ms: quantile(sorted, 0.99),
      propagationSamples: sorted.length,
      requests: this.#requests,
      failures: this.#failures,
      refusals: this.#refusals,
      reportsMerged: this.#reportsMerged,
      reportQueuePeak: this.#reportQueuePeak,
      ran,
    };
  }

  /** Forgets the propagation samples so far (between scenario steps). */
  resetPropagation(): void {
    this.#propagation = [];
  }

  /** Resolves when every agent runs `pack`, or rejects after `timeoutMs`. */
  async converged(pack: string | null, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.#agents.every((agent) => agent.activePack === pack)) return;
      await sleep(20);
    }
    const counts = [...this.stats().counts].map(([p, n]) => `${p ?? 'none'}: ${n}`).join(', ');
    throw new Error(
      `The fleet did not converge on ${pack ?? 'none'} in ${timeoutMs} ms (${counts}).`,
    );
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) clearInterval(timer);
    for (const stream of this.#streams) stream.destroy();
    this.#agent.destroy();
    this.#reportAgent.destroy();
    this.#streamAgent.destroy();
    await sleep(0);
  }

  /** Runs `task` for each agent every `everyMs`, the agents spread evenly over the interval. */
  #spread(everyMs: number, task: (agent: SimAgent) => void): void {
    const slots = Math.max(1, Math.min(50, Math.floor(everyMs / 20)));
    for (let slot = 0; slot < slots; slot++) {
      const group = this.#agents.filter((_, n) => n % slots === slot);
      const start = setTimeout(
        () => {
          if (this.#stopped) return;
          for (const agent of group) task(agent);
          const timer = setInterval(() => {
            if (!this.#stopped) for (const agent of group) task(agent);
          }, everyMs);
          this.#timers.push(timer);
        },
        (everyMs * slot) / slots,
      );
      this.#timers.push(start);
    }
  }

  #openStream(group: SimAgent[]): void {
    if (this.#stopped) return;
    const { env, channel } = this.#options;
    const base = new URL(this.#options.url);
    const req = request(
      {
        host: base.hostname,
        port: base.port,
        path: `/api/v1/channels/${env}/${channel}/events`,
        agent: this.#streamAgent,
        headers: { authorization: `Bearer ${this.#options.token}`, accept: 'text/event-stream' },
      },
      (res) => {
        this.#streams.push(res);
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let end = buffer.indexOf('\n\n');
          while (end >= 0) {
            const event = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = /^event: index\ndata: (.*)$/m.exec(event);
            if (data !== null) {
              const { version } = JSON.parse(data[1] ?? '{}') as { version: number };
              for (const agent of group) if (agent.version < version) void this.#checkIn(agent);
            }
            end = buffer.indexOf('\n\n');
          }
        });
        res.on('close', () => {
          if (!this.#stopped) setTimeout(() => this.#openStream(group), 200);
        });
      },
    );
    req.on('error', () => {
      if (!this.#stopped) setTimeout(() => this.#openStream(group), 200);
    });
    req.end();
  }

  /** Asks what to run; activates it when it differs. One check-in per agent at a time. */
  async #checkIn(agent: SimAgent): Promise<void> {
    if (agent.checking) {
      agent.again = true;
      return;
    }
    agent.checking = true;
    try {
      do {
        agent.again = false;
        const answer = await this.#call(
          'GET',
          `/targets/${agent.id}/desired`,
          undefined,
          agent.etag === null ? {} : { 'if-none-match': agent.etag },
        );
        if (answer.status === 304 || answer.body === null) continue;
        const desired = answer.body as { pack: string | null; indexVersion: number };
        agent.etag = answer.etag;
        const index = await this.#verifiedIndex(desired.indexVersion);
        if (desired.indexVersion > agent.version) {
          agent.version = desired.indexVersion;
          if (index !== null && index.payload.version === desired.indexVersion) {
            this.#propagation.push(Date.now() - index.issuedAtMs);
          }
        }
        if (desired.pack !== null && desired.pack !== agent.activePack) {
          if (index === null || !packAllowed(index.payload, desired.pack, new Date())) {
            this.#refusals += 1;
            // Asked again shortly, in full (not a 304 on this answer): what runs stays until a
            // verified index backs the answer.
            agent.etag = null;
            setTimeout(() => {
              if (!this.#stopped) void this.#checkIn(agent);
            }, 200);
            continue;
          }
          agent.activePack = desired.pack;
          agent.ran.push(desired.pack);
          agent.lastAttempt = {
            kind: 'activate',
            pack: desired.pack,
            result: 'ok',
            at: new Date().toISOString(),
          };
          this.#report(agent);
        }
      } while (agent.again && !this.#stopped);
    } finally {
      agent.checking = false;
    }
  }

  /** Queues the agent's report, or merges it into the one still waiting or in flight. */
  #report(agent: SimAgent): void {
    if (agent.reporting) {
      this.#reportsMerged += 1;
      return;
    }
    agent.reporting = true;
    this.#reportQueue.push(agent);
    this.#reportQueuePeak = Math.max(
      this.#reportQueuePeak,
      this.#reportQueue.length - this.#reportHead,
    );
    this.#drainReports();
  }

  /** Sends queued reports while a report connection is free. */
  #drainReports(): void {
    const connections = this.#options.connections ?? 32;
    while (
      !this.#stopped &&
      this.#reportsInFlight < connections &&
      this.#reportHead < this.#reportQueue.length
    ) {
      const group: SimAgent[] = [];
      const relay = this.#options.relay ?? 1;
      while (group.length < relay && this.#reportHead < this.#reportQueue.length) {
        const agent = this.#reportQueue[this.#reportHead++];
        if (agent !== undefined) group.push(agent);
      }
      void this.#sendReports(group);
    }
    if (this.#reportHead > 4096 && this.#reportHead * 2 > this.#reportQueue.length) {
      this.#reportQueue = this.#reportQueue.slice(this.#reportHead);
      this.#reportHead = 0;
    }
  }

  /** One request: the agent's own report, or a relay's `POST /reports` of several. */
  async #sendReports(group: readonly SimAgent[]): Promise<void> {
    this.#reportsInFlight += 1;
    try {
      const bodies = group.map((agent) => {
        const rate = this.#options.errorRate?.(agent.id, agent.activePack) ?? 0;
        return {
          activePack: agent.activePack,
          ...(agent.lastAttempt === null ? {} : { lastAttempt: agent.lastAttempt }),
          health: { requests: REQUESTS_PER_REPORT, errors: Math.round(rate * REQUESTS_PER_REPORT) },
        };
      });
      const [only] = group;
      if ((this.#options.relay ?? 1) === 1 && only !== undefined && bodies[0] !== undefined) {
        await this.#call('POST', `/targets/${only.id}/reports`, bodies[0], {}, this.#reportAgent);
      } else {
        const reports = bodies.map((body, i) => ({ target: group[i]?.id, ...body }));
        await this.#call('POST', '/reports', { reports }, {}, this.#reportAgent);
      }
    } finally {
      this.#reportsInFlight -= 1;
      for (const agent of group) agent.reporting = false;
      this.#drainReports();
    }
  }

  /**
   * The channel index at `version` or later, verified against the server's keys (signature,
   * expiry, env and channel), read once per version; null when the index served is older than
   * `version` or does not verify.
   */
  #verifiedIndex(version: number): Promise<VerifiedIndex | null> {
    let known = this.#indexes.get(version);
    if (known === undefined) {
      const { env, channel } = this.#options;
      known = this.#call('GET', `/channels/${env}/${channel}/index`).then((answer) => {
        try {
          const payload = verifyChannelIndex(answer.body, this.#serverKeys, {
            now: new Date(),
            env,
            channel,
          });
          return payload.version >= version
            ? { payload, issuedAtMs: Date.parse(payload.issuedAt) }
            : null;
        } catch (error) {
          if (!isLockgateError(error)) throw error;
          return null;
        }
      });
      this.#indexes.set(version, known);
      // A version that could not be verified is asked again next time.
      void known.then((index) => {
        if (index === null) this.#indexes.delete(version);
      });
    }
    return known;
  }

  #call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
    agent: Agent = this.#agent,
  ): Promise<{ status: number; body: unknown; etag: string | null }> {
    const base = new URL(this.#options.url);
    const text = body === undefined ? undefined : JSON.stringify(body);
    this.#requests += 1;
    return new Promise((resolve) => {
      const req = request(
        {
          host: base.hostname,
          port: base.port,
          method,
          path: `/api/v1${path}`,
          agent,
          headers: {
            authorization: `Bearer ${this.#options.token}`,
            ...headers,
            ...(text === undefined
              ? {}
              : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 400) this.#failures += 1;
            const raw = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = null;
            try {
              parsed = raw === '' ? null : JSON.parse(raw);
            } catch {
              parsed = null;
            }
            const etag = res.headers.etag;
            resolve({ status, body: parsed, etag: typeof etag === 'string' ? etag : null });
          });
          res.on('error', () => {
            this.#failures += 1;
            resolve({ status: 0, body: null, etag: null });
          });
        },
      );
      req.on('error', () => {
        this.#failures += 1;
        resolve({ status: 0, body: null, etag: null });
      });
      req.end(text);
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
