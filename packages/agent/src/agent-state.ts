import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isDigest } from '@lockgate/core';
import type { Digest, DsseEnvelope, TargetAttempt } from '@lockgate/core';
import { AgentError } from './agent-codes.ts';
import { errnoOf, fsyncDirectory, writeFileAtomic } from './atomic-fs.ts';

export const AGENT_STATE_SCHEMA = 'lockgate.agent-state/v1';
export const TRIAL_SCHEMA = 'lockgate.agent-trial/v1';

/** The last health check the agent ran. */
export interface HealthStatus {
  ok: boolean;
  at: string;
  detail: string;
}

/** A pack the agent refused or reverted; not tried again until a newer index of that channel. */
export interface FailedPack {
  code: string;
  indexVersion: number | null;
  /** `env/channel` of that index; absent in records written before it was kept (taken as any) */
  channel?: string;
  at: string;
}

/**
 * The highest channel index version accepted, by channel (`env/channel`), then by the id of
 * the server key whose signature verified. A version is compared only with versions of the
 * same channel signed by the same key: moving to another channel (or a new server key) starts
 * its own count, and going back to a channel still refuses what that channel replays.
 */
export type IndexVersions = Record<string, Record<string, number>>;

/**
 * `DIR/state.json`. `DIR/current` is the truth about what runs; `active` mirrors it and is
 * corrected from it on start.
 */
export interface AgentState {
  schema: typeof AGENT_STATE_SCHEMA;
  active: Digest | null;
  lkg: Digest | null;
  /** packs complete under DIR/packs */
  installed: Digest[];
  /** the highest index version accepted on the agent's current channel, by any key (a view of `indexVersions`) */
  highestSeenIndexVersion: number | null;
  /** the replay floors: see IndexVersions */
  indexVersions: IndexVersions;
  /** the highest pack sequence this target committed (its local downgrade floor) */
  highestActivatedSequence: number | null;
  lastAttempt: TargetAttempt | null;
  health: HealthStatus | null;
  failed: Record<string, FailedPack>;
}

/**
 * `DIR/trial.json`, written before the flip and removed after commit or revert. Found on
 * start, it means a trial was interrupted.
 */
export interface TrialRecord {
  schema: typeof TRIAL_SCHEMA;
  pack: Digest;
  previous: Digest | null;
  sequence: number;
  startedAt: string;
  deadline: string;
  /** how many times the agent has started (or resumed) this trial */
  attempts: number;
}

/** `DIR/index.json`: the last channel index accepted, for conditional requests. */
export interface StoredIndex {
  etag: string | null;
  envelope: DsseEnvelope;
}

export function emptyState(): AgentState {
  return {
    schema: AGENT_STATE_SCHEMA,
    active: null,
    lkg: null,
    installed: [],
    highestSeenIndexVersion: null,
    indexVersions: {},
    highestActivatedSequence: null,
    lastAttempt: null,
    health: null,
    failed: {},
  };
}

/** Paths inside the agent directory. */
export class AgentPaths {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  get state(): string {
    return join(this.dir, 'state.json');
  }

  get trial(): string {
    return join(this.dir, 'trial.json');
  }

  get index(): string {
    return join(this.dir, 'index.json');
  }

  get current(): string {
    return join(this.dir, 'current');
  }

  get cache(): string {
    return join(this.dir, 'cache');
  }

  get packs(): string {
    return join(this.dir, 'packs');
  }
}

/** Where the agent is now: its channel and the ids of the server keys it trusts. */
export interface StateContext {
  env: string;
  channel: string;
  serverKeyIds: readonly string[];
}

/**
 * Reads `DIR/state.json` (an empty state when there is none). A state written before
 * `indexVersions` existed held one `highestSeenIndexVersion` for the channel the agent was on:
 * it becomes that channel's floor for every server key trusted now (the channel is read from
 * the stored index, else taken to be the current one). `highestSeenIndexVersion` is then set
 * for the current channel.
 */
export async function loadState(paths: AgentPaths, context: StateContext): Promise<AgentState> {
  const value = await readJson(paths.state);
  if (value === undefined) return emptyState();
  if (isRecord(value) && value.indexVersions === undefined) {
    value.indexVersions = await migratedIndexVersions(
      paths,
      value.highestSeenIndexVersion,
      context,
    );
  }
  if (!isState(value)) {
    throw new AgentError('STATE_INVALID', `${paths.state} is not a ${AGENT_STATE_SCHEMA} record.`, {
      details: { path: paths.state },
    });
  }
  value.highestSeenIndexVersion = highestSeenIndexVersion(value, context.env, context.channel);
  return value;
}

async function migratedIndexVersions(
  paths: AgentPaths,
  highest: unknown,
  context: StateContext,
): Promise<IndexVersions> {
  if (typeof highest !== 'number' || !Number.isSafeInteger(highest) || highest < 0) return {};
  const stored = await loadStoredIndex(paths);
  const channel = (stored === null ? null : storedIndexChannel(stored)) ?? context;
  const floors: Record<string, number> = {};
  for (const keyId of context.serverKeyIds) floors[keyId] = highest;
  return { [channelKey(channel.env, channel.channel)]: floors };
}

export function channelKey(env: string, channel: string): string {
  return `${env}/${channel}`;
}

/**
 * The highest index version accepted on the channel: signed by `keyId` when given, else by
 * any key. Null when none was.
 */
export function highestSeenIndexVersion(
  state: Pick<AgentState, 'indexVersions'>,
  env: string,
  channel: string,
  keyId?: string,
): number | null {
  const floors = state.indexVersions[channelKey(env, channel)];
  if (floors === undefined) return null;
  if (keyId !== undefined) return floors[keyId] ?? null;
  const versions = Object.values(floors);
  return versions.length === 0 ? null : Math.max(...versions);
}

/** Raises the channel's floor for `keyId` to `version`; true when it rose. */
export function recordIndexVersion(
  state: AgentState,
  env: string,
  channel: string,
  keyId: string,
  version: number,
): boolean {
  const key = channelKey(env, channel);
  const floors = (state.indexVersions[key] ??= {});
  const before = floors[keyId];
  if (before !== undefined && before >= version) return false;
  floors[keyId] = version;
  state.highestSeenIndexVersion = highestSeenIndexVersion(state, env, channel);
  return true;
}

export async function saveState(paths: AgentPaths, state: AgentState): Promise<void> {
  await writeFileAtomic(paths.state, `${JSON.stringify(state, null, 2)}\n`);
}

export async function loadTrial(paths: AgentPaths): Promise<TrialRecord | null> {
  const value = await readJson(paths.trial);
  if (value === undefined) return null;
  if (!isTrial(value)) {
    throw new AgentError('STATE_INVALID', `${paths.trial} is not a ${TRIAL_SCHEMA} record.`, {
      details: { path: paths.trial },
    });
  }
  return value;
}

export async function saveTrial(paths: AgentPaths, trial: TrialRecord): Promise<void> {
  await writeFileAtomic(paths.trial, `${JSON.stringify(trial, null, 2)}\n`);
}

export async function clearTrial(paths: AgentPaths): Promise<void> {
  await rm(paths.trial, { force: true });
  await fsyncDirectory(paths.dir);
}

/** The stored index, or null when there is none or it does not parse (it is re-verified anyway). */
export async function loadStoredIndex(paths: AgentPaths): Promise<StoredIndex | null> {
  let value: unknown;
  try {
    value = await readJson(paths.index);
  } catch {
    return null;
  }
  if (!isRecord(value) || !isRecord(value.envelope)) return null;
  const etag = typeof value.etag === 'string' ? value.etag : null;
  return { etag, envelope: value.envelope as unknown as DsseEnvelope };
}

/**
 * The env and channel a stored index names, read from its payload without verifying it (a
 * hint only: the agent verifies the index before acting on it). Null when it does not decode.
 */
export function storedIndexChannel(stored: StoredIndex): { env: string; channel: string } | null {
  try {
    const payload = JSON.parse(
      Buffer.from(stored.envelope.payload, 'base64').toString('utf8'),
    ) as unknown;
    if (!isRecord(payload)) return null;
    const { env, channel } = payload;
    return typeof env === 'string' && typeof channel === 'string' ? { env, channel } : null;
  } catch {
    return null;
  }
}

export async function saveStoredIndex(paths: AgentPaths, stored: StoredIndex): Promise<void> {
  await writeFileAtomic(paths.index, `${JSON.stringify(stored)}\n`);
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new AgentError('STATE_INVALID', `${path} is not JSON.`, {
      cause,
      details: { path },
    });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isDigestOrNull(value: unknown): value is Digest | null {
  return value === null || isDigest(value);
}

function isCountOrNull(value: unknown): value is number | null {
  return value === null || (Number.isSafeInteger(value) && (value as number) >= 0);
}

function isState(value: unknown): value is AgentState {
  return (
    isRecord(value) &&
    value.schema === AGENT_STATE_SCHEMA &&
    isDigestOrNull(value.active) &&
    isDigestOrNull(value.lkg) &&
    Array.isArray(value.installed) &&
    value.installed.every((d) => isDigest(d)) &&
    isCountOrNull(value.highestSeenIndexVersion) &&
    isIndexVersions(value.indexVersions) &&
    isCountOrNull(value.highestActivatedSequence) &&
    (value.lastAttempt === null || isRecord(value.lastAttempt)) &&
    (value.health === null || isRecord(value.health)) &&
    isRecord(value.failed)
  );
}

function isIndexVersions(value: unknown): value is IndexVersions {
  return (
    isRecord(value) &&
    Object.values(value).every(
      (floors) =>
        isRecord(floors) && Object.values(floors).every((v) => isCountOrNull(v) && v !== null),
    )
  );
}

function isTrial(value: unknown): value is TrialRecord {
  return (
    isRecord(value) &&
    value.schema === TRIAL_SCHEMA &&
    isDigest(value.pack) &&
    isDigestOrNull(value.previous) &&
    Number.isSafeInteger(value.sequence) &&
    typeof value.startedAt === 'string' &&
    typeof value.deadline === 'string' &&
    Number.isSafeInteger(value.attempts)
  );
}
