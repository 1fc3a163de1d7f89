/**
 * The name and sequence of every pack the agent has seen, by digest — from accepted indexes and
 * verified packs — so its metrics can name the active pack. Only names: nothing here is trusted
 * for a decision.
 */
import type { AgentSnapshot } from './agent-metrics.ts';
import type { MachineState } from './agent-machine.ts';
export interface PackName {
  name: string;
  sequence: number;
}

type IndexPacks = Record<string, { name?: unknown; sequence?: unknown }>;

export class PackNames {
  readonly #byDigest = new Map<string, PackName>();

  set(digest: string, name: string, sequence: number): void {
    this.#byDigest.set(digest, { name, sequence });
  }

  get(digest: string): PackName | null {
    return this.#byDigest.get(digest) ?? null;
  }

  /** Learns the packs an index lists. */
  learn(packs: IndexPacks): void {
    for (const [digest, info] of Object.entries(packs)) {
      if (typeof info.name === 'string' && typeof info.sequence === 'number') {
        this.set(digest, info.name, info.sequence);
      }
    }
  }

  /** Learns from a stored index envelope (verified when it was accepted). */
  learnEnvelope(envelope: { payload: string }): void {
    try {
      const payload = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as {
        packs?: IndexPacks;
      };
      this.learn(payload.packs ?? {});
    } catch {
      // Only names for metrics: an unreadable stored index is refused by the next sync anyway.
    }
  }
}

/** What the metrics read at scrape time: the machine's phase and state, the active pack's name. */
export function agentSnapshot(machine: MachineState | null, names: PackNames): AgentSnapshot {
  if (machine === null) return { phase: 'starting', state: null, activePack: null };
  const { active } = machine.agent;
  const activePack = active === null ? null : names.get(active);
  return { phase: machine.phase.kind, state: machine.agent, activePack };
}
