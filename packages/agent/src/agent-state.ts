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

/** A pack the agent refused or reverted; not tried again until a newer index. */
export interface FailedPack {
  code: string;
  indexVersion: number | null;
  at: string;
}

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
  highestSeenIndexVersion: number | null;
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

export async function loadState(paths: AgentPaths): Promise<AgentState> {
  const value = await readJson(paths.state);
  if (value === undefined) return emptyState();
  if (!isState(value)) {
    throw new AgentError('STATE_INVALID', `${paths.state} is not a ${AGENT_STATE_SCHEMA} record.`, {
      details: { path: paths.state },
    });
  }
  return value;
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
    isCountOrNull(value.highestActivatedSequence) &&
    (value.lastAttempt === null || isRecord(value.lastAttempt)) &&
    (value.health === null || isRecord(value.health)) &&
    isRecord(value.failed)
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
