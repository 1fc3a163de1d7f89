/** Shared builders for the release tests: digests, contexts, reports and a simulated fleet. */
import { createHash } from 'node:crypto';
import {
  buildChannelIndex,
  decide,
  desiredPack,
  isTerminal,
  newRelease,
} from '../../src/release/index.ts';
import type {
  ChannelContext,
  ChannelIndexRollout,
  DecisionDraft,
  FreezeWindow,
  PackContext,
  Pin,
  Plan,
  ReleaseAction,
  ReleaseContext,
  ReleaseState,
  TargetReport,
} from '../../src/release/index.ts';

export function digest(name: string): string {
  return `sha256:${createHash('sha256').update(name).digest('hex')}`;
}

export const NEW = digest('kb-1.5.0');
export const OLD = digest('kb-1.4.0');
export const OLDER = digest('kb-1.3.0');
export const PINNED = digest('kb-1.2.0');

export const T0 = Date.parse('2026-11-23T10:00:00.000Z');

export function at(seconds: number): string {
  return new Date(T0 + seconds * 1000).toISOString();
}

export function channel(overrides: Partial<ChannelContext> = {}): ChannelContext {
  return {
    pins: [],
    lkg: OLD,
    base: OLD,
    floor: 10,
    revoked: [],
    constraints: { runtime: '>=2.3 <3' },
    rollbackAuthorizations: [],
    packs: {
      [NEW]: { sequence: 15 },
      [OLD]: { sequence: 14 },
      [OLDER]: { sequence: 13 },
      [PINNED]: { sequence: 12 },
    },
    cohorts: [],
    ...overrides,
  };
}

export function pack(overrides: Partial<PackContext> = {}): PackContext {
  return {
    digest: NEW,
    sequence: 15,
    eligible: true,
    eligibilityReasons: [],
    requires: { runtime: '^2.3.0', schema: 'kb/3' },
    evidenceComplete: true,
    ...overrides,
  };
}

export function release(plan: unknown, overrides: Partial<ReleaseState> = {}): ReleaseState {
  return {
    ...newRelease({
      id: 'rel_1',
      env: 'prod-eu',
      channel: 'stable',
      pack: NEW,
      packSequence: 15,
      basePack: OLD,
      plan,
      requestedBy: 'alice',
      reason: 'ship kb 1.5.0',
    }),
    ...overrides,
  };
}

export function context(
  rel: ReleaseState,
  overrides: Partial<ReleaseContext> = {},
): ReleaseContext {
  return {
    release: rel,
    channel: channel(),
    pack: pack(),
    reports: [],
    stageTargets: [],
    targets: [],
    freezeWindows: [],
    ...overrides,
  };
}

/** A plan of small stages with one error-rate gate, handy for unit tests. */
export function simplePlan(overrides: Partial<Plan['stages'][number]>[] = [{}, {}]): Plan {
  const percents = [10, 50, 100];
  return {
    name: 'simple',
    stages: overrides.map((o, i) => ({
      name: `s${i}`,
      percent: i === overrides.length - 1 ? 100 : (percents[i] ?? 50),
      soakSeconds: 600,
      gates: [
        {
          metric: 'error_rate',
          op: '<=',
          threshold: 0.05,
          windowSeconds: 300,
          minTargets: 1,
          minSamples: 10,
        },
      ],
      ...o,
    })),
  };
}

/** Reports of targets running `activePack` at time `when` with the given error ratio. */
export function reports(
  ids: readonly string[],
  when: string,
  options: { activePack?: string; requests?: number; errorRate?: number } = {},
): TargetReport[] {
  const requests = options.requests ?? 100;
  return ids.map((targetId) => ({
    targetId,
    at: when,
    activePack: options.activePack ?? NEW,
    lastAttempt: { kind: 'activate', pack: options.activePack ?? NEW, result: 'ok', at: when },
    health: { requests, errors: Math.round(requests * (options.errorRate ?? 0)) },
  }));
}

export function ids(n: number, prefix = 't'): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);
}

/** Actions that tell any target to run `pack`. */
export function pointsAt(action: ReleaseAction, target: string): boolean {
  switch (action.kind) {
    case 'setRollout':
    case 'setBase':
    case 'setLkg':
      return action.pack === target;
    case 'rollback':
      return action.to === target;
    default:
      return false;
  }
}

export interface FleetOptions {
  plan: Plan;
  size: number;
  /** error ratio a target reports while it runs `pack` */
  errorRate: (targetId: string, stageIndex: number) => number;
  requestsPerReport?: number;
  tickSeconds?: number;
  maxTicks?: number;
  channel?: Partial<ChannelContext>;
  freezeWindows?: FreezeWindow[];
  /** reports are produced only by targets for which this holds (default all) */
  reporting?: (targetId: string, tick: number) => boolean;
}

export interface FleetRun {
  release: ReleaseState;
  decisions: DecisionDraft[];
  actions: ReleaseAction[];
  lkg: string | null;
  base: string | null;
  ticks: number;
  /** [tick seconds, state] whenever the state changed */
  timeline: [number, string][];
  recorded: { context: ReleaseContext; now: string; decisions: DecisionDraft[] }[];
}

/**
 * Drives decide() under a simulated clock: each tick the fleet computes its desired pack from a
 * channel index built from the channel state, reports, and the controller decides and applies
 * its actions.
 */
export function runFleet(options: FleetOptions): FleetRun {
  const tick = options.tickSeconds ?? 60;
  const targets = ids(options.size).map((id) => ({ id, labels: { region: 'eu' } }));
  const ch = channel(options.channel);
  let base: string | null = OLD;
  let lkg = ch.lkg;
  let rollout: ChannelIndexRollout | null = null;
  let rel = release(options.plan);
  const running = new Map<string, string | null>(targets.map((t) => [t.id, OLD]));
  const attempts = new Map<string, TargetReport['lastAttempt']>();
  let history: TargetReport[] = [];
  const decisions: DecisionDraft[] = [];
  const actions: ReleaseAction[] = [];
  const timeline: [number, string][] = [[0, rel.state]];
  const recorded: FleetRun['recorded'] = [];
  const packs = {
    [NEW]: { name: 'kb', version: '1.5.0', sequence: 15 },
    [OLD]: { name: 'kb', version: '1.4.0', sequence: 14 },
  };
  let i = 0;
  for (; i < (options.maxTicks ?? 500) && !isTerminal(rel.state); i += 1) {
    const seconds = i * tick;
    const now = at(seconds);
    const pins: Pin[] = ch.pins;
    const index = buildChannelIndex({
      env: 'prod-eu',
      channel: 'stable',
      version: i + 1,
      issuedAt: now,
      ttlSeconds: 3600,
      packs,
      base,
      rollout,
      pins,
      floor: ch.floor,
      revoked: ch.revoked,
      rollbackAuthorizations: [],
    });
    const stageTargets: string[] = [];
    for (const target of targets) {
      const desired = desiredPack(index, target, now).pack;
      if (desired === NEW && rollout !== null) stageTargets.push(target.id);
      if (running.get(target.id) !== desired) {
        running.set(target.id, desired);
        if (desired !== null)
          attempts.set(target.id, { kind: 'activate', pack: desired, result: 'ok', at: now });
      }
      if (options.reporting !== undefined && !options.reporting(target.id, i)) continue;
      const active = running.get(target.id) ?? null;
      const requests = options.requestsPerReport ?? 100;
      const rate = active === NEW ? options.errorRate(target.id, rel.stageIndex) : 0;
      const report: TargetReport = {
        targetId: target.id,
        at: now,
        activePack: active,
        health: { requests, errors: Math.round(requests * rate) },
      };
      const attempt = attempts.get(target.id);
      if (attempt !== undefined) report.lastAttempt = attempt;
      history.push(report);
    }
    history = history.filter((r) => Date.parse(r.at) >= Date.parse(now) - 900_000);
    const ctx: ReleaseContext = {
      release: rel,
      channel: { ...ch, lkg, base },
      pack: pack(),
      reports: [...history],
      stageTargets: [...stageTargets],
      targets,
      freezeWindows: options.freezeWindows ?? [],
    };
    const result = decide(ctx, now);
    recorded.push({ context: ctx, now, decisions: result.decisions });
    decisions.push(...result.decisions);
    actions.push(...result.actions);
    for (const action of result.actions) {
      if (action.kind === 'setRollout') {
        rollout = {
          release: action.release,
          pack: action.pack,
          salt: action.release,
          percent: action.percent,
          cohorts: [],
        };
      } else if (action.kind === 'clearRollout') rollout = null;
      else if (action.kind === 'rollback') {
        rollout = null;
        base = action.to;
      } else if (action.kind === 'setBase') base = action.pack;
      else lkg = action.pack;
    }
    if (result.release.state !== rel.state) timeline.push([seconds, result.release.state]);
    rel = result.release;
  }
  return { release: rel, decisions, actions, lkg, base, ticks: i, timeline, recorded };
}
