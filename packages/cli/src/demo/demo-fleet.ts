import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Agent } from '@lockgate/agent';
import type { DemoTargetSpec } from './demo-plan.ts';
import type { TrafficEndpoint } from './demo-traffic.ts';
import { createRuntime } from './example-runtime.ts';
import type { Runtime } from './example-runtime.ts';

export interface FleetOptions {
  /** a directory for the agents' directories (one per target) */
  root: string;
  targets: readonly DemoTargetSpec[];
  server: string;
  token: string;
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
      const dir = join(options.root, target.id);
      await mkdir(dir, { recursive: true });
      const runtime = await createRuntime({ packDir: join(dir, 'current'), pollIntervalMs: 100 });
      const agent = createAgent({
        server: options.server,
        token: options.token,
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
