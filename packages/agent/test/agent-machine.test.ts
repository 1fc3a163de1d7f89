import { describe, expect, it } from 'vitest';
import type { ChannelIndexPayload, Digest, PackManifest } from '@lockgate/core';
import { committedAfter, initialMachineState, step } from '../src/agent-machine.ts';
import type {
  Effect,
  MachineConfig,
  MachineState,
  Observation,
  Phase,
} from '../src/agent-machine.ts';
import { AGENT_STATE_SCHEMA, TRIAL_SCHEMA } from '../src/agent-state.ts';
import type { AgentState, TrialRecord } from '../src/agent-state.ts';

const A: Digest = `sha256:${'a'.repeat(64)}`;
const B: Digest = `sha256:${'b'.repeat(64)}`;
const C: Digest = `sha256:${'c'.repeat(64)}`;
const NOW = new Date('2030-01-01T00:00:00.000Z');
const LATER = new Date('2030-01-01T00:05:00.000Z');

const config: MachineConfig = {
  env: 'prod',
  channel: 'stable',
  targetId: 't1',
  labels: {},
  runtime: { runtimeVersion: '2.0.0', capabilities: {} },
  healthCheck: true,
  healthIntervalMs: 1000,
  trialMs: 60_000,
  trialPasses: 2,
  trialFailures: 2,
  maxTrialAttempts: 3,
};

function agentState(over: Partial<AgentState> = {}): AgentState {
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
    ...over,
  };
}

function indexFor(base: Digest | null, version = 5, over: Partial<ChannelIndexPayload> = {}) {
  const packs: ChannelIndexPayload['packs'] = {};
  for (const d of [A, B, C]) packs[d] = { name: 'kb', version: '1.0.0', sequence: 10 };
  return {
    schema: 'lockgate.channel-index/v1',
    env: 'prod',
    channel: 'stable',
    version,
    issuedAt: NOW.toISOString(),
    expiresAt: LATER.toISOString(),
    packs,
    base,
    rollout: null,
    pins: [],
    floor: null,
    revoked: [],
    rollbackAuthorizations: [],
    ...over,
  } as ChannelIndexPayload;
}

const manifest = {
  name: 'kb',
  version: '1.0.0',
  sequence: 10,
  requires: {},
} as unknown as PackManifest;

function trialOf(over: Partial<TrialRecord> = {}): TrialRecord {
  return {
    schema: TRIAL_SCHEMA,
    pack: B,
    previous: A,
    sequence: 10,
    startedAt: NOW.toISOString(),
    deadline: new Date(NOW.getTime() + 60_000).toISOString(),
    attempts: 1,
    ...over,
  };
}

function at(phase: Phase, agent: AgentState = agentState({ active: A, lkg: A })): MachineState {
  return { agent, phase, indexVersion: null };
}

function run(state: MachineState, o: Observation, now = NOW, cfg = config) {
  return step(cfg, state, o, now);
}

const types = (effects: Effect[]): string[] => effects.map((e) => e.type);
const last = (effects: Effect[]): Effect | undefined => effects[effects.length - 1];
const events = (effects: Effect[]): string[] =>
  effects.flatMap((e) => (e.type === 'emit' ? [e.event.name] : []));

describe('the agent machine: recovery on start', () => {
  it('checks the active pack when there is no trial', () => {
    const next = run(initialMachineState(agentState()), {
      type: 'recover',
      agent: agentState({ active: A }),
      trial: null,
    });
    expect(next.state.phase).toEqual({ kind: 'checking-active', pack: A });
    expect(next.effects).toEqual([{ type: 'verify', pack: A, source: 'installed' }]);
  });

  it('ends at once when nothing runs', () => {
    const next = run(initialMachineState(agentState()), {
      type: 'recover',
      agent: agentState(),
      trial: null,
    });
    expect(types(next.effects)).toEqual(['prune', 'save-state', 'recovery-done']);
    expect(last(next.effects)).toEqual({
      type: 'recovery-done',
      result: { active: null, trial: null, activeFailed: null },
    });
  });

  it('drops a trial whose flip never happened and checks what current says', () => {
    const next = run(initialMachineState(agentState()), {
      type: 'recover',
      agent: agentState({ active: A }),
      trial: trialOf(),
    });
    expect(types(next.effects)).toEqual(['save-state', 'clear-trial', 'verify']);
  });

  it('only clears the record of a trial whose commit was saved', () => {
    const agent = agentState({
      active: B,
      lkg: B,
      lastAttempt: { kind: 'activate', pack: B, result: 'ok', at: LATER.toISOString() },
    });
    expect(committedAfter(agent, trialOf())).toBe(true);
    const next = run(initialMachineState(agent), { type: 'recover', agent, trial: trialOf() });
    expect(types(next.effects)).toEqual(['clear-trial', 'verify']);
  });

  it('resumes an interrupted trial, counting the attempt, after verifying its pack', () => {
    const agent = agentState({ active: B, lkg: A });
    const next = run(initialMachineState(agent), { type: 'recover', agent, trial: trialOf() });
    expect(next.effects).toEqual([
      { type: 'save-trial', trial: trialOf({ attempts: 2 }) },
      { type: 'verify', pack: B, source: 'installed' },
    ]);
    const checked = run(next.state, { type: 'verify-ok', pack: B, manifest });
    expect(checked.state.phase).toMatchObject({ kind: 'trial', once: false, owner: 'recovery' });
    expect(checked.effects).toEqual([{ type: 'health-check', afterMs: 0 }]);
  });

  it('lets one check decide a resumed trial whose deadline passed', () => {
    const state = at({ kind: 'resuming-trial', trial: trialOf({ attempts: 2 }) });
    const next = run(state, { type: 'verify-ok', pack: B, manifest }, LATER);
    expect(next.state.phase).toMatchObject({ kind: 'trial', once: true });
  });

  it('reverts a resumed trial whose pack no longer verifies', () => {
    const state = at({ kind: 'resuming-trial', trial: trialOf({ attempts: 2 }) });
    const next = run(state, {
      type: 'verify-failed',
      pack: B,
      code: 'PACK_FILE_MISSING',
      message: 'gone',
    });
    expect(next.state.phase).toMatchObject({ kind: 'reverting', code: 'PACK_FILE_MISSING' });
    expect(next.effects).toEqual([{ type: 'verify', pack: A, source: 'installed' }]);
  });

  it('reverts without a check a trial interrupted more often than allowed', () => {
    const agent = agentState({ active: B, lkg: A });
    const next = run(initialMachineState(agent), {
      type: 'recover',
      agent,
      trial: trialOf({ attempts: 3 }),
    });
    expect(next.state.phase).toMatchObject({ kind: 'reverting', code: 'TRIAL_INTERRUPTED' });
    const back = run(next.state, { type: 'verify-ok', pack: A, manifest });
    expect(types(back.effects)).toEqual([
      'flip',
      'save-state',
      'clear-trial',
      'prune',
      'save-state',
      'emit',
      'report',
      'prune',
      'save-state',
      'recovery-done',
    ]);
    expect(back.state.agent.active).toBe(A);
    expect(last(back.effects)).toMatchObject({
      result: { active: A, trial: { kind: 'reverted', pack: B, to: A, code: 'TRIAL_INTERRUPTED' } },
    });
  });

  it('ends recovery when the active pack verifies', () => {
    const next = run(at({ kind: 'checking-active', pack: A }), {
      type: 'verify-ok',
      pack: A,
      manifest,
    });
    expect(types(next.effects)).toEqual(['prune', 'save-state', 'recovery-done']);
  });
});

describe('the agent machine: an active pack changed on disk', () => {
  const failed: Observation = {
    type: 'verify-failed',
    pack: B,
    code: 'PACK_FILE_HASH_MISMATCH',
    message: 'bad',
  };
  const tampered = (): { state: MachineState; effects: Effect[] } =>
    run(at({ kind: 'checking-active', pack: B }, agentState({ active: B, lkg: A })), failed);

  it('records the failure and tries the cache first', () => {
    const next = tampered();
    expect(next.effects).toEqual([{ type: 'save-state' }, { type: 'repair', pack: B }]);
    expect(next.state.agent.lastAttempt).toMatchObject({
      kind: 'verify',
      result: 'failed',
      code: 'PACK_FILE_HASH_MISMATCH',
    });
  });

  it('is repaired from the cache: verify ok with the code found, reported at once', () => {
    const next = run(tampered().state, { type: 'repair-done', pack: B });
    expect(next.state.agent.lastAttempt).toMatchObject({
      kind: 'verify',
      result: 'ok',
      code: 'PACK_FILE_HASH_MISMATCH',
    });
    expect(events(next.effects)).toEqual(['repaired']);
    expect(next.effects).toContainEqual({ type: 'report', wait: false });
    expect(last(next.effects)).toMatchObject({
      result: { active: B, activeFailed: 'PACK_FILE_HASH_MISMATCH' },
    });
  });

  it('goes to lkg when the cache cannot repair it and lkg verifies', () => {
    const repair = run(tampered().state, { type: 'repair-failed', pack: B });
    expect(repair.effects).toEqual([{ type: 'verify', pack: A, source: 'installed' }]);
    const next = run(repair.state, { type: 'verify-ok', pack: A, manifest });
    expect(next.effects[0]).toEqual({ type: 'flip', to: A, checked: false });
    expect(events(next.effects)).toEqual(['reverted']);
    expect(next.state.agent.active).toBe(A);
  });

  it('serves nothing when neither the cache nor lkg verifies', () => {
    const repair = run(tampered().state, { type: 'repair-failed', pack: B });
    const next = run(repair.state, {
      type: 'verify-failed',
      pack: A,
      code: 'PACK_FILE_MISSING',
      message: 'x',
    });
    expect(types(next.effects).slice(0, 2)).toEqual(['flip', 'uninstall']);
    expect(next.effects[0]).toEqual({ type: 'flip', to: null, checked: false });
    expect(events(next.effects)).toEqual(['rejected']);
    expect(next.state.agent.active).toBeNull();
    expect(last(next.effects)).toMatchObject({
      result: { active: null, activeFailed: 'PACK_FILE_HASH_MISMATCH' },
    });
  });

  it('forgets an lkg that is the damaged pack itself', () => {
    const state = at({ kind: 'checking-active', pack: A }, agentState({ active: A, lkg: A }));
    const repair = run(run(state, { ...failed, pack: A }).state, {
      type: 'repair-failed',
      pack: A,
    });
    expect(repair.state.agent.lkg).toBeNull();
    expect(repair.state.agent.active).toBeNull();
  });
});

describe('the agent machine: the channel index', () => {
  const syncing = (agent = agentState({ active: A, lkg: A })) =>
    run(at({ kind: 'idle' }, agent), { type: 'sync' }).state;

  it('asks for the index on sync', () => {
    const next = run(at({ kind: 'idle' }), { type: 'sync' });
    expect(next.effects).toEqual([{ type: 'fetch-index' }]);
  });

  it('is up to date when the index assigns the active pack', () => {
    const next = run(syncing(), {
      type: 'index-accepted',
      index: indexFor(A),
      signer: 'k1',
      stored: null,
    });
    expect(last(next.effects)).toEqual({
      type: 'sync-done',
      outcome: { kind: 'up-to-date', pack: A, indexVersion: 5 },
    });
    expect(next.state.agent.indexVersions).toEqual({ 'prod/stable': { k1: 5 } });
    expect(next.effects[0]).toEqual({ type: 'save-state' });
    expect(next.state.indexVersion).toBe(5);
  });

  it('stores a freshly downloaded index after saving the raised floor', () => {
    const stored = { etag: '"e"', envelope: { payloadType: 'x', payload: '', signatures: [] } };
    const next = run(syncing(), {
      type: 'index-accepted',
      index: indexFor(A),
      signer: 'k1',
      stored,
    });
    expect(types(next.effects)).toEqual(['save-state', 'store-index', 'sync-done']);
  });

  it('forgets refusals of packs the index no longer lists', () => {
    const agent = agentState({
      active: A,
      failed: { [C]: { code: 'X', indexVersion: 1, at: NOW.toISOString() } },
    });
    const index = indexFor(A);
    delete index.packs[C];
    const next = run(syncing(agent), { type: 'index-accepted', index, signer: 'k1', stored: null });
    expect(next.state.agent.failed).toEqual({});
  });

  it('reports a refused index and changes nothing else', () => {
    const next = run(syncing(), {
      type: 'index-refused',
      code: 'INDEX_REPLAYED',
      message: 'old',
    });
    expect(events(next.effects)).toEqual(['rejected']);
    expect(types(next.effects)).toEqual(['emit', 'sync-done']);
    expect(next.state.phase).toEqual({ kind: 'idle' });
  });

  it('is offline when the server cannot be reached', () => {
    const warning = { code: 'SERVER_UNREACHABLE', message: 'down' };
    const next = run(syncing(), { type: 'index-offline', message: 'down', warning });
    expect(next.effects).toEqual([
      { type: 'emit', event: { name: 'warning', event: warning } },
      { type: 'sync-done', outcome: { kind: 'offline', message: 'down' } },
    ]);
  });

  it('skips a pack that failed here until a newer index version', () => {
    const agent = agentState({
      active: A,
      failed: {
        [B]: { code: 'X', indexVersion: 5, channel: 'prod/stable', at: NOW.toISOString() },
      },
    });
    const next = run(syncing(agent), {
      type: 'index-accepted',
      index: indexFor(B),
      signer: null,
      stored: null,
    });
    expect(last(next.effects)).toMatchObject({ outcome: { kind: 'skipped', pack: B } });
    const newer = run(syncing(agent), {
      type: 'index-accepted',
      index: indexFor(B, 6),
      signer: null,
      stored: null,
    });
    expect(last(newer.effects)).toEqual({ type: 'fetch-pack', pack: B, protect: [A] });
  });
});

describe('the agent machine: fetch, verify, install, flip', () => {
  const index = indexFor(B);
  const downloading = at({ kind: 'downloading', pack: B, index });
  const verifying = at({ kind: 'verifying', pack: B, index, source: 'cache' });

  it('verifies a downloaded pack', () => {
    const next = run(downloading, { type: 'download-done', pack: B, source: 'cache' });
    expect(next.effects).toEqual([{ type: 'verify', pack: B, source: 'cache' }]);
  });

  it('is offline when the download cannot reach the server', () => {
    const next = run(downloading, {
      type: 'download-failed',
      pack: B,
      code: 'SERVER_UNREACHABLE',
      message: 'down',
    });
    expect(last(next.effects)).toMatchObject({ outcome: { kind: 'offline' } });
    expect(next.state.agent.failed).toEqual({});
  });

  it('refuses a pack whose download failed with a code', () => {
    const next = run(downloading, {
      type: 'download-failed',
      pack: B,
      code: 'CACHE_FULL',
      message: 'full',
    });
    expect(types(next.effects)).toEqual(['save-state', 'emit', 'report', 'sync-done']);
    expect(next.state.agent.failed[B]).toMatchObject({
      code: 'CACHE_FULL',
      indexVersion: 5,
      channel: 'prod/stable',
    });
  });

  it('discards a pack that fails verification and refuses it', () => {
    const next = run(verifying, {
      type: 'verify-failed',
      pack: B,
      code: 'PACK_SIGNATURE_INVALID',
      message: 'sig',
    });
    expect(next.effects[0]).toEqual({ type: 'discard', pack: B, source: 'cache' });
    expect(next.state.agent.lastAttempt).toMatchObject({
      kind: 'verify',
      pack: B,
      result: 'failed',
      code: 'PACK_SIGNATURE_INVALID',
    });
    expect(last(next.effects)).toMatchObject({
      outcome: { kind: 'rejected', code: 'PACK_SIGNATURE_INVALID' },
    });
  });

  it('refuses an incompatible pack without discarding it', () => {
    const needs = { ...manifest, requires: { schema: 'kb/9' } };
    const next = run(verifying, { type: 'verify-ok', pack: B, manifest: needs });
    expect(types(next.effects)).not.toContain('discard');
    expect(last(next.effects)).toMatchObject({
      outcome: { kind: 'rejected', code: 'PACK_INCOMPATIBLE' },
    });
  });

  it('re-reads the index before the policy check', () => {
    const next = run(verifying, { type: 'verify-ok', pack: B, manifest });
    expect(next.effects).toEqual([{ type: 'fetch-index' }]);
    expect(next.state.phase).toMatchObject({ kind: 'refreshing' });
  });

  const refreshing = at({ kind: 'refreshing', pack: B, index, manifest });

  it('refuses a pack the fresh index revokes', () => {
    const fresh = indexFor(B, 6, { revoked: [B] });
    const next = run(refreshing, {
      type: 'index-accepted',
      index: fresh,
      signer: null,
      stored: null,
    });
    expect(last(next.effects)).toMatchObject({
      outcome: { kind: 'rejected', code: 'PACK_REVOKED' },
    });
    expect(next.state.agent.failed[B]?.indexVersion).toBe(6);
  });

  it('refuses a pack below the sequence this target committed', () => {
    const agent = agentState({ active: A, lkg: A, highestActivatedSequence: 11 });
    const next = run(at(refreshing.phase, agent), {
      type: 'index-offline',
      message: 'down',
      warning: null,
    });
    expect(last(next.effects)).toMatchObject({
      outcome: { kind: 'rejected', code: 'RELEASE_BELOW_FLOOR' },
    });
  });

  it('gives way when the fresh index assigns another pack, and asks for another sync', () => {
    const next = run(refreshing, {
      type: 'index-accepted',
      index: indexFor(C, 6),
      signer: null,
      stored: null,
    });
    expect(types(next.effects)).toEqual(['request-sync', 'sync-done']);
    expect(last(next.effects)).toMatchObject({
      outcome: { kind: 'superseded', pack: B, indexVersion: 6 },
    });
  });

  it('keeps the first index when the fresh one is refused, and installs', () => {
    const next = run(refreshing, {
      type: 'index-refused',
      code: 'INDEX_EXPIRED',
      message: 'x',
    });
    expect(events(next.effects)).toEqual(['rejected', 'verified']);
    expect(last(next.effects)).toEqual({ type: 'install', pack: B });
  });

  it('writes the trial record before the flip', () => {
    const next = run(at({ kind: 'installing', pack: B, manifest, indexVersion: 5 }), {
      type: 'install-done',
      pack: B,
    });
    expect(next.effects).toEqual([
      { type: 'save-trial', trial: trialOf() },
      { type: 'flip', to: B, checked: true },
    ]);
  });

  it('refuses a pack that cannot be installed', () => {
    const next = run(at({ kind: 'installing', pack: B, manifest, indexVersion: 5 }), {
      type: 'install-failed',
      pack: B,
      message: 'disk',
    });
    expect(last(next.effects)).toMatchObject({
      outcome: { kind: 'rejected', code: 'ACTIVATION_FAILED' },
    });
  });

  it('clears the trial record and refuses when the flip failed', () => {
    const next = run(at({ kind: 'activating', trial: trialOf(), indexVersion: 5 }), {
      type: 'flip-failed',
      message: 'EIO',
    });
    expect(types(next.effects)).toEqual([
      'clear-trial',
      'save-state',
      'emit',
      'report',
      'sync-done',
    ]);
    expect(next.state.agent.active).toBe(A);
  });

  it('starts the trial once the flip is done', () => {
    const next = run(at({ kind: 'activating', trial: trialOf(), indexVersion: 5 }), {
      type: 'flip-done',
      to: B,
      installed: [A, B],
    });
    expect(next.state.agent.active).toBe(B);
    expect(next.state.agent.installed).toEqual([A, B]);
    expect(events(next.effects)).toEqual(['activated']);
    expect(last(next.effects)).toEqual({ type: 'health-check', afterMs: 0 });
  });

  it('commits at once without a health check', () => {
    const next = run(
      at({ kind: 'activating', trial: trialOf(), indexVersion: 5 }),
      { type: 'flip-done', to: B, installed: [A, B] },
      NOW,
      { ...config, healthCheck: false },
    );
    expect(last(next.effects)).toEqual({
      type: 'sync-done',
      outcome: { kind: 'committed', pack: B },
    });
  });
});

describe('the agent machine: the trial', () => {
  const trialPhase = (over: Partial<Extract<Phase, { kind: 'trial' }>> = {}): Phase => ({
    kind: 'trial',
    trial: trialOf(),
    indexVersion: 5,
    passes: 0,
    failures: 0,
    once: false,
    owner: 'sync',
    ...over,
  });
  const running = (over = {}) => at(trialPhase(over), agentState({ active: B, lkg: A }));

  it('checks again after the interval while passes are short', () => {
    const next = run(running(), { type: 'health-ok', detail: '200' });
    expect(next.effects).toEqual([{ type: 'health-check', afterMs: 1000 }]);
    expect(next.state.phase).toMatchObject({ passes: 1, failures: 0 });
    expect(next.state.agent.health).toEqual({ ok: true, at: NOW.toISOString(), detail: '200' });
  });

  it('commits after enough passes in a row: state saved before the record goes', () => {
    const next = run(running({ passes: 1 }), { type: 'health-ok', detail: '200' });
    expect(types(next.effects)).toEqual([
      'save-state',
      'clear-trial',
      'prune',
      'save-state',
      'emit',
      'report',
      'sync-done',
    ]);
    expect(next.state.agent).toMatchObject({ active: B, lkg: B, highestActivatedSequence: 10 });
    expect(next.state.agent.lastAttempt).toMatchObject({ kind: 'activate', pack: B, result: 'ok' });
    expect(committedAfter(next.state.agent, trialOf())).toBe(true);
  });

  it('verifies the previous pack before reverting after enough failures', () => {
    const next = run(running({ failures: 1 }), { type: 'health-failed', detail: '500' });
    expect(next.state.phase).toMatchObject({
      kind: 'reverting',
      code: 'HEALTH_CHECK_FAILED',
      reason: '500',
    });
    expect(next.effects).toEqual([{ type: 'verify', pack: A, source: 'installed' }]);
  });

  it('reverts when the deadline passes', () => {
    const next = run(running(), { type: 'health-ok', detail: '200' }, LATER);
    expect(next.state.phase).toMatchObject({ kind: 'reverting', code: 'HEALTH_CHECK_FAILED' });
    expect((next.state.phase as { reason: string }).reason).toContain('deadline');
  });

  it('ends as interrupted when stop() cut the trial short', () => {
    const next = run(running(), { type: 'interrupted' });
    expect(next.effects).toEqual([
      { type: 'sync-done', outcome: { kind: 'interrupted', pack: B } },
    ]);
  });

  it('flips back, records the failure and clears the trial on revert', () => {
    const reverting = at(
      {
        kind: 'reverting',
        trial: trialOf(),
        code: 'HEALTH_CHECK_FAILED',
        reason: '500',
        indexVersion: 5,
        owner: 'sync',
      },
      agentState({ active: B, lkg: A }),
    );
    const next = run(reverting, { type: 'verify-ok', pack: A, manifest });
    expect(types(next.effects)).toEqual([
      'flip',
      'save-state',
      'clear-trial',
      'prune',
      'save-state',
      'emit',
      'report',
      'sync-done',
    ]);
    expect(next.state.agent.active).toBe(A);
    expect(next.state.agent.failed[B]).toMatchObject({
      code: 'HEALTH_CHECK_FAILED',
      indexVersion: 5,
    });
    expect(last(next.effects)).toMatchObject({ outcome: { kind: 'reverted', pack: B, to: A } });
  });

  it('stays on the trial pack when the previous one no longer verifies', () => {
    const reverting = at(
      {
        kind: 'reverting',
        trial: trialOf(),
        code: 'HEALTH_CHECK_FAILED',
        reason: '500',
        indexVersion: 5,
        owner: 'sync',
      },
      agentState({ active: B, lkg: A }),
    );
    const next = run(reverting, {
      type: 'verify-failed',
      pack: A,
      code: 'PACK_FILE_MISSING',
      message: 'x',
    });
    expect(types(next.effects)).toEqual([
      'save-state',
      'clear-trial',
      'emit',
      'report',
      'sync-done',
    ]);
    expect(next.state.agent.active).toBe(B);
    expect(next.state.agent.lastAttempt).toMatchObject({
      kind: 'revert',
      pack: A,
      result: 'failed',
    });
    expect(last(next.effects)).toMatchObject({
      outcome: { kind: 'revert-failed', pack: B, code: 'PACK_FILE_MISSING' },
    });
  });

  it('flips to nothing without a check when there was no previous pack', () => {
    const next = run(running({ trial: trialOf({ previous: null }), failures: 1 }), {
      type: 'health-failed',
      detail: '500',
    });
    expect(next.effects[0]).toEqual({ type: 'flip', to: null, checked: false });
    expect(next.state.agent.active).toBeNull();
  });
});

describe('the agent machine: what it takes in any phase', () => {
  it('records the installed packs and a report health check without moving', () => {
    const state = at({ kind: 'indexing' });
    const installed = run(state, { type: 'installed', packs: [A] });
    expect(installed.effects).toEqual([]);
    expect(installed.state.phase).toEqual({ kind: 'indexing' });
    const sampled = run(state, { type: 'health-sampled', ok: false, detail: 'down' });
    expect(sampled.state.agent.health).toEqual({
      ok: false,
      at: NOW.toISOString(),
      detail: 'down',
    });
  });

  it('refuses an observation its phase does not wait for', () => {
    expect(() => run(at({ kind: 'idle' }), { type: 'health-ok', detail: '' })).toThrow(
      /health-ok while idle/,
    );
  });

  it('leaves the state it was given unchanged', () => {
    const state = at({ kind: 'verifying', pack: B, index: indexFor(B), source: 'cache' });
    const before = structuredClone(state);
    run(state, { type: 'verify-failed', pack: B, code: 'PACK_SIGNATURE_INVALID', message: 'x' });
    expect(state).toEqual(before);
  });
});
