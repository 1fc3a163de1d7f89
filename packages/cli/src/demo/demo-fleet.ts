import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Agent } from '@lockgate/agent';
import { bodyObject } from '../api-client.ts';
import type { ApiClient } from '../api-client.ts';
import type { DemoTargetSpec } from './demo-plan.ts';
import type { TrafficEndpoint } from './demo-traffic.ts';
import { createRuntime } from './example-runtime.ts';
import type { Runtime } from './example-runtime.ts';

export interface FleetOptions {
  /** a directory for the agents' directories (one per target) */
  root: string;
  targets: readonly DemoTargetSpec[];
  server: string;
  /** each target's own agent token (createAgentTokens) */
  tokens: AgentTokens;
  env: string;
  channel: string;
  /** PEM public keys of the server's channel-index signers */
  serverKeyPems: readonly string[];
  /** PEM public key of the build signer */
  buildKeyPem: string;
  fetch: typeof fetch;
  /** agent timings, ms (defaults suit a demo: reports every second, short trials) */
  reportIntervalMs?: number;
  pollIntervalMs?: number;
  healthIntervalMs?: number;
}

export interface FleetMember {
  target: DemoTargetSpec;
  dir: string;
  runtime: Runtime;
  agent: Agent;
}

export interface Fleet {
  readonly size: number;
  readonly ids: ReadonlySet<string>;
  readonly members: readonly FleetMember[];
  /** where the traffic goes: each target's runtime */
  readonly endpoints: readonly TrafficEndpoint[];
  /** Stops every agent, then every runtime. Safe to call more than once. */
  stop(): Promise<void>;
}

/** One agent token per target, scoped to that target in the demo channel. */
export interface AgentTokens {
  /** target id → the token's secret */
  readonly secrets: ReadonlyMap<string, string>;
  /** the tokens' names, to revoke them when the demo ends */
  readonly names: readonly string[];
}

/**
 * Creates one agent token per target, each speaking only for its own target in env/channel, as
 * an operator would for real hosts. Names end with a random suffix: a data directory kept from
 * an earlier run still holds (revoked) tokens of the same targets, and names stay taken.
 */
export async function createAgentTokens(
  client: ApiClient,
  targets: readonly DemoTargetSpec[],
  env: string,
  channel: string,
): Promise<AgentTokens> {
  const suffix = randomBytes(3).toString('hex');
  const secrets = new Map<string, string>();
  const names: string[] = [];
  for (const target of targets) {
    const name = `agent-${target.id}-${suffix}`;
    const response = await client.request('POST', '/api/v1/tokens', {
      json: {
        name,
        role: 'agent',
        scope: { targets: [target.id], channels: [`${env}/${channel}`] },
      },
    });
    const { secret } = bodyObject<{ secret?: unknown }>(response.body);
    if (typeof secret !== 'string') throw new Error(`The server gave token ${name} no secret`);
    secrets.set(target.id, secret);
    names.push(name);
  }
  return { secrets, names };
}

/** Revokes the demo's agent tokens; what fails (the server is going away) is left as it is. */
export async function revokeAgentTokens(client: ApiClient, tokens: AgentTokens): Promise<void> {
  await Promise.allSettled(
    tokens.names.map((name) =>
      client.request('DELETE', `/api/v1/tokens/${encodeURIComponent(name)}`),
    ),
  );
}

/**
 * One in-process agent and one example runtime per target: the agent keeps `DIR/current`
 * pointing at the pack it activated, the runtime serves from it, the agent's trial checks the
 * runtime's `/healthz` and its reports carry the runtime's `/metrics` deltas.
 */
export async function startFleet(options: FleetOptions): Promise<Fleet> {
  // Loaded here: the other commands need no agent.
  const { createAgent } = await import('@lockgate/agent');
  const members: FleetMember[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.allSettled(members.map((member) => member.agent.stop()));
    await Promise.allSettled(members.map((member) => member.runtime.close()));
  };
  try {
    for (const target of options.targets) {
      const token = options.tokens.secrets.get(target.id);
      if (token === undefined) throw new Error(`No agent token for target ${target.id}`);
      const dir = join(options.root, target.id);
      await mkdir(dir, { recursive: true });
      const runtime = await createRuntime({ packDir: join(dir, 'current'), pollIntervalMs: 100 });
      const agent = createAgent({
        server: options.server,
        token,
        targetId: target.id,
        env: options.env,
        channel: options.channel,
        labels: target.labels,
        dir,
        trustedServerKeys: options.serverKeyPems,
        trustedBuildKeys: [options.buildKeyPem],
        healthCheck: { url: `${runtime.url}/healthz`, timeoutMs: 2000 },
        runtimeMetrics: { url: `${runtime.url}/metrics`, timeoutMs: 2000 },
        reportIntervalMs: options.reportIntervalMs ?? 1000,
        pollIntervalMs: options.pollIntervalMs ?? 5000,
        healthIntervalMs: options.healthIntervalMs ?? 250,
        trialPasses: 2,
        trialFailures: 3,
        trialMs: 15_000,
        requestTimeoutMs: 10_000,
        reconnectMinMs: 250,
        reconnectMaxMs: 2000,
        fetch: options.fetch,
      });
      // Warnings (a report that did not get through, …) are expected now and then; the
      // scenario judges by what the server records.
      agent.on('warning', () => undefined);
      members.push({ target, dir, runtime, agent });
    }
    await Promise.all(members.map((member) => member.agent.start()));
  } catch (error) {
    await stopAll();
    throw error;
  }
  let stopping: Promise<void> | null = null;
  return {
    size: members.length,
    ids: new Set(members.map((member) => member.target.id)),
    members,
    endpoints: members.map((member) => ({ id: member.target.id, url: member.runtime.url })),
    stop: () => (stopping ??= stopAll()),
  };
}
