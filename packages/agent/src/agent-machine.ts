/**
 * The agent's safety state machine, pure: `step(config, state, observation, now)` returns the
 * next state and the effects to run, as data. It reads no disk, no network and no clock; the
 * shell (agent.ts) runs the effects in order and feeds what they found back as the next
 * observation, the way a Temporal worker drives a workflow with activations.
 *
 * Invariants the effect order keeps (each is what makes `kill -9` at any point safe):
 * - `save-trial` comes before the `flip` that activates a pack: a trial record on start means
 *   the flip may have happened, and `current` says whether it did.
 * - On commit `save-state` (lkg := pack, attempt ok) comes before `clear-trial`: a crash in
 *   between is read on start as "already committed".
 * - On revert the `flip` back comes before `save-state`, and the previous pack is verified
 *   before it; when it does not verify the agent stays on the trial pack, uncommitted.
 * - What runs changes only by a `flip`; an active pack whose files no longer verify is never
 *   kept: repaired from a verified cached file, else lkg when it verifies, else nothing.
 * - A pack refused or reverted is recorded in `failed` and not tried again until a newer index
 *   version of the same channel; the index version floor only rises.
 * - An effect that asks something (fetch-index, fetch-pack, verify, install, checked flip,
 *   repair, health-check) is the last of its batch; its answer is the next observation.
 *   `installed` and `health-sampled` observations are taken in any phase and only record.
 */
import { desiredPack, isLockgateError } from '@lockgate/core';
import type { ChannelIndexPayload, Digest, PackManifest, RuntimeProfile } from '@lockgate/core';
import { AgentError } from './agent-codes.ts';
import type { AttemptCode } from './agent-codes.ts';
import type { AgentEvent, RecoveryResult, SyncOutcome, WarningEvent } from './agent-events.ts';
import { channelKey, recordIndexVersion, TRIAL_SCHEMA } from './agent-state.ts';
import type { AgentState, StoredIndex, TrialRecord } from './agent-state.ts';
import { checkCompatibility, checkPolicy } from './pack-verification.ts';

/** What the machine needs to know of the agent's options. */
export interface MachineConfig {
  env: string;
  channel: string;
  targetId: string;
  labels: Readonly<Record<string, string>>;
  runtime: RuntimeProfile;
  /** false: no health check is configured, a trial commits at once */
  healthCheck: boolean;
  healthIntervalMs: number;
  trialMs: number;
  trialPasses: number;
  trialFailures: number;
  maxTrialAttempts: number;
}

/** Where a pack to verify lies: installed under `packs/`, or a pack file in the cache. */
export type PackSource = 'installed' | 'cache';

/** Whom a finished trial answers: the sync that started it or the recovery that resumed it. */
export type TrialOwner = 'sync' | 'recovery';

interface Failure {
  code: AttemptCode;
  message: string;
  at: string;
}

/** What the machine waits for. */
export type Phase =
  | { kind: 'idle' }
  | { kind: 'resuming-trial'; trial: TrialRecord }
  | { kind: 'checking-active'; pack: Digest }
  | { kind: 'repairing'; pack: Digest; failure: Failure }
  | { kind: 'checking-lkg'; pack: Digest; lkg: Digest; failure: Failure }
  | { kind: 'indexing' }
  | { kind: 'downloading'; pack: Digest; index: ChannelIndexPayload }
  | { kind: 'verifying'; pack: Digest; index: ChannelIndexPayload; source: PackSource }
  | { kind: 'refreshing'; pack: Digest; index: ChannelIndexPayload; manifest: PackManifest }
  | { kind: 'installing'; pack: Digest; manifest: PackManifest; indexVersion: number }
  | { kind: 'activating'; trial: TrialRecord; indexVersion: number }
  | {
      kind: 'trial';
      trial: TrialRecord;
      indexVersion: number | null;
      passes: number;
      failures: number;
      /** one check decides (a trial resumed after its deadline) */
      once: boolean;
      owner: TrialOwner;
    }
  | {
      kind: 'reverting';
      trial: TrialRecord;
      code: AttemptCode;
      reason: string;
      indexVersion: number | null;
      owner: TrialOwner;
    };

export interface MachineState {
  /** what `state.json` holds */
  agent: AgentState;
  phase: Phase;
  /** the version of the last channel index accepted */
  indexVersion: number | null;
}

/** What the shell saw: the answer to an effect, or a request to start. */
export type Observation =
  /** start-up: the loaded state (active = what `current` says, installed = what is on disk) */
  | { type: 'recover'; agent: AgentState; trial: TrialRecord | null }
  | { type: 'sync' }
  | {
      type: 'index-accepted';
      index: ChannelIndexPayload;
      /** the id of the server key whose signature verified */
      signer: string | null;
      /** a freshly downloaded index to store (null: the stored one answered a 304) */
      stored: StoredIndex | null;
    }
  | { type: 'index-refused'; code: AttemptCode; message: string }
  | { type: 'index-offline'; message: string; warning: WarningEvent | null }
  | { type: 'download-done'; pack: Digest; source: PackSource }
  | { type: 'download-failed'; pack: Digest; code: AttemptCode; message: string }
  | { type: 'verify-ok'; pack: Digest; manifest: PackManifest }
  | { type: 'verify-failed'; pack: Digest; code: AttemptCode; message: string }
  | { type: 'install-done'; pack: Digest }
  | { type: 'install-failed'; pack: Digest; message: string }
  | { type: 'flip-done'; to: Digest | null; installed: Digest[] }
  | { type: 'flip-failed'; message: string }
  | { type: 'health-ok'; detail: string }
  | { type: 'health-failed'; detail: string }
  /** stop() cut the trial short */
  | { type: 'interrupted' }
  | { type: 'repair-done'; pack: Digest }
  | { type: 'repair-failed'; pack: Digest }
  | { type: 'installed'; packs: Digest[] }
  /** a health check run for a report, outside any trial */
  | { type: 'health-sampled'; ok: boolean; detail: string };

/** What the shell does, in order. */
export type Effect =
  /** write `state.json` as the machine's state is when the effect runs */
  | { type: 'save-state' }
  | { type: 'save-trial'; trial: TrialRecord }
  | { type: 'clear-trial' }
  | { type: 'store-index'; stored: StoredIndex }
  /** → index-accepted | index-refused | index-offline */
  | { type: 'fetch-index' }
  /** → download-done | download-failed (an installed pack is not downloaded) */
  | { type: 'fetch-pack'; pack: Digest; protect: Digest[] }
  /** → verify-ok | verify-failed */
  | { type: 'verify'; pack: Digest; source: PackSource }
  /** removes a pack that failed its checks (the cached file, or the installed copy) */
  | { type: 'discard'; pack: Digest; source: PackSource }
  /** extracts the verified pack file under `packs/` → install-done | install-failed */
  | { type: 'install'; pack: Digest }
  /** points `current` at `to`; checked → flip-done | flip-failed, else a failure throws */
  | { type: 'flip'; to: Digest | null; checked: boolean }
  /** → installed */
  | { type: 'uninstall'; pack: Digest }
  /** removes installed packs not kept → installed */
  | { type: 'prune'; keep: Digest[] }
  /** re-extracts the pack from a cached file that verifies → repair-done | repair-failed */
  | { type: 'repair'; pack: Digest }
  /** after `afterMs` → health-ok | health-failed | interrupted */
  | { type: 'health-check'; afterMs: number }
  | { type: 'emit'; event: AgentEvent }
  | { type: 'report'; wait: boolean }
  /** the index moved on while a pack was verified: sync again at once */
  | { type: 'request-sync' }
  | { type: 'sync-done'; outcome: SyncOutcome }
  | { type: 'recovery-done'; result: RecoveryResult };

export interface Step {
  state: MachineState;
  effects: Effect[];
}

/** The state before recovery: nothing known yet. */
export function initialMachineState(agent: AgentState): MachineState {
  return { agent, phase: { kind: 'idle' }, indexVersion: null };
}

/** The state after a run of effects failed with an unexpected error: ready for the next sync. */
export function abandon(state: MachineState): MachineState {
  return { ...state, phase: { kind: 'idle' } };
}

/** True when the state records this trial's commit (saved just before the record goes). */
export function committedAfter(state: AgentState, trial: TrialRecord): boolean {
  const attempt = state.lastAttempt;
  return (
    attempt !== null &&
    attempt.kind === 'activate' &&
    attempt.result === 'ok' &&
    attempt.pack === trial.pack &&
    state.lkg === trial.pack &&
    Date.parse(attempt.at) >= Date.parse(trial.startedAt)
  );
}

/** One transition. The input state is not changed. */
export function step(
  config: MachineConfig,
  state: MachineState,
  observation: Observation,
  now: Date,
): Step {
  return new Transition(config, state, now).run(observation);
}

class Transition {
  readonly config: MachineConfig;
  readonly now: Date;
  readonly at: string;
  agent: AgentState;
  phase: Phase;
  indexVersion: number | null;
  readonly effects: Effect[] = [];

  constructor(config: MachineConfig, state: MachineState, now: Date) {
    this.config = config;
    this.now = now;
    this.at = now.toISOString();
    this.agent = structuredClone(state.agent);
    this.phase = state.phase;
    this.indexVersion = state.indexVersion;
  }

  run(observation: Observation): Step {
    this.#observe(observation);
    return {
      state: { agent: this.agent, phase: this.phase, indexVersion: this.indexVersion },
      effects: this.effects,
    };
  }

  #push(...effects: Effect[]): void {
    this.effects.push(...effects);
  }

  #wait(phase: Phase, effect: Effect): void {
    this.phase = phase;
    this.effects.push(effect);
  }

  #observe(o: Observation): void {
    if (o.type === 'installed') {
      this.agent.installed = [...o.packs];
      return;
    }
    if (o.type === 'health-sampled') {
      this.agent.health = { ok: o.ok, at: this.at, detail: o.detail };
      return;
    }
    const phase = this.phase;
    switch (phase.kind) {
      case 'idle':
        if (o.type === 'recover') return this.#recover(o.agent, o.trial);
        if (o.type === 'sync') return this.#wait({ kind: 'indexing' }, { type: 'fetch-index' });
        break;
      case 'resuming-trial':
        if (o.type === 'verify-failed') {
          return this.#revert(phase.trial, o.code, o.message, this.#seen(), 'recovery');
        }
        if (o.type === 'verify-ok') {
          const expired = this.now.getTime() >= Date.parse(phase.trial.deadline);
          return this.#startTrial(phase.trial, this.#seen(), expired, 'recovery');
        }
        break;
      case 'checking-active':
        if (o.type === 'verify-ok') return this.#recoveryDone(null, null);
        if (o.type === 'verify-failed') return this.#activeFailed(phase.pack, o);
        break;
      case 'repairing':
        if (o.type === 'repair-done') return this.#repaired(phase.pack, phase.failure);
        if (o.type === 'repair-failed') {
          const lkg = this.agent.lkg;
          if (lkg !== null && lkg !== phase.pack) {
            const next: Phase = {
              kind: 'checking-lkg',
              pack: phase.pack,
              lkg,
              failure: phase.failure,
            };
            return this.#wait(next, { type: 'verify', pack: lkg, source: 'installed' });
          }
          return this.#serveNothing(phase.pack, phase.failure);
        }
        break;
      case 'checking-lkg':
        if (o.type === 'verify-ok') return this.#backToLkg(phase.pack, phase.lkg, phase.failure);
        if (o.type === 'verify-failed') return this.#serveNothing(phase.pack, phase.failure);
        break;
      case 'indexing':
        if (o.type === 'index-offline') return this.#offline(o.message, o.warning);
        if (o.type === 'index-refused') {
          this.#indexRefused(o.code, o.message);
          return this.#syncDone({ kind: 'index-rejected', code: o.code, message: o.message });
        }
        if (o.type === 'index-accepted') {
          this.#indexAccepted(o.index, o.signer, o.stored);
          return this.#choose(o.index);
        }
        break;
      case 'downloading':
        if (o.type === 'download-done') {
          const next: Phase = { ...phase, kind: 'verifying', source: o.source };
          return this.#wait(next, { type: 'verify', pack: phase.pack, source: o.source });
        }
        if (o.type === 'download-failed') {
          if (o.code === 'SERVER_UNREACHABLE') {
            return this.#offline(o.message, { code: o.code, message: o.message });
          }
          return this.#reject(phase.pack, o.code, o.message, phase.index.version);
        }
        break;
      case 'verifying':
        if (o.type === 'verify-failed') {
          // A pack that fails its checks is never used again; the next try starts afresh.
          this.#push({ type: 'discard', pack: phase.pack, source: phase.source });
          return this.#reject(phase.pack, o.code, o.message, phase.index.version);
        }
        if (o.type === 'verify-ok') return this.#verified(phase.pack, phase.index, o.manifest);
        break;
      case 'refreshing':
        if (o.type === 'index-accepted') {
          this.#indexAccepted(o.index, o.signer, o.stored);
          return this.#decidePolicy(phase.pack, phase.manifest, o.index);
        }
        if (o.type === 'index-refused') this.#indexRefused(o.code, o.message);
        else if (o.type === 'index-offline') this.#warning(o.warning);
        else break;
        return this.#decidePolicy(phase.pack, phase.manifest, phase.index);
      case 'installing':
        if (o.type === 'install-done')
          return this.#activate(phase.pack, phase.manifest, phase.indexVersion);
        if (o.type === 'install-failed') {
          const message = `Installing the pack failed: ${o.message}`;
          return this.#reject(phase.pack, 'ACTIVATION_FAILED', message, phase.indexVersion);
        }
        break;
      case 'activating':
        if (o.type === 'flip-done')
          return this.#activated(phase.trial, phase.indexVersion, o.installed);
        if (o.type === 'flip-failed') {
          this.#push({ type: 'clear-trial' });
          const message = `The flip failed: ${o.message}`;
          return this.#reject(phase.trial.pack, 'ACTIVATION_FAILED', message, phase.indexVersion);
        }
        break;
      case 'trial':
        if (o.type === 'health-ok' || o.type === 'health-failed' || o.type === 'interrupted') {
          return this.#trialCheck(phase, o);
        }
        break;
      case 'reverting':
        if (o.type === 'verify-ok')
          return this.#flipBack(
            phase.trial,
            phase.code,
            phase.reason,
            phase.indexVersion,
            phase.owner,
          );
        if (o.type === 'verify-failed') return this.#revertFailed(phase.trial, o, phase.owner);
        break;
    }
    throw new Error(`The agent machine got ${o.type} while ${phase.kind}.`);
  }

  // ---- recovery -------------------------------------------------------------------------

  #recover(agent: AgentState, trial: TrialRecord | null): void {
    this.agent = structuredClone(agent);
    if (trial !== null) {
      if (this.agent.active !== trial.pack) {
        // The flip never happened, or the revert's flip did: what runs is what `current` says.
        this.#push({ type: 'save-state' }, { type: 'clear-trial' });
      } else if (committedAfter(this.agent, trial)) {
        // The commit was saved; only the trial record was left.
        this.#push({ type: 'clear-trial' });
      } else {
        const resumed: TrialRecord = { ...trial, attempts: trial.attempts + 1 };
        this.#push({ type: 'save-trial', trial: resumed });
        if (resumed.attempts > this.config.maxTrialAttempts) {
          const reason = `the trial was interrupted ${trial.attempts} times`;
          return this.#revert(resumed, 'TRIAL_INTERRUPTED', reason, this.#seen(), 'recovery');
        }
        const next: Phase = { kind: 'resuming-trial', trial: resumed };
        return this.#wait(next, { type: 'verify', pack: resumed.pack, source: 'installed' });
      }
    }
    const active = this.agent.active;
    if (active === null) return this.#recoveryDone(null, null);
    this.#wait(
      { kind: 'checking-active', pack: active },
      { type: 'verify', pack: active, source: 'installed' },
    );
  }

  /** The active pack no longer verifies: note it, then try to repair it from the cache. */
  #activeFailed(pack: Digest, found: { code: AttemptCode; message: string }): void {
    const failure: Failure = { code: found.code, message: found.message, at: this.at };
    this.agent.lastAttempt = {
      kind: 'verify',
      pack,
      result: 'failed',
      code: failure.code,
      at: failure.at,
    };
    this.#push({ type: 'save-state' });
    this.#wait({ kind: 'repairing', pack, failure }, { type: 'repair', pack });
  }

  #repaired(pack: Digest, failure: Failure): void {
    // Failed on disk, verified again: `ok` with the code of what was found.
    this.agent.lastAttempt = {
      kind: 'verify',
      pack,
      result: 'ok',
      code: failure.code,
      at: failure.at,
    };
    this.#push(
      { type: 'save-state' },
      {
        type: 'emit',
        event: { name: 'repaired', event: { pack, code: failure.code, message: failure.message } },
      },
    );
    this.#recoveryDone(null, failure.code);
  }

  #backToLkg(pack: Digest, lkg: Digest, failure: Failure): void {
    this.#push({ type: 'flip', to: lkg, checked: false });
    this.agent.active = lkg;
    const event = { pack, to: lkg, code: failure.code, reason: failure.message };
    this.#push({ type: 'save-state' }, { type: 'emit', event: { name: 'reverted', event } });
    this.#recoveryDone(null, failure.code);
  }

  /** Nothing verified to serve: serve nothing rather than files that fail their hashes. */
  #serveNothing(pack: Digest, failure: Failure): void {
    this.#push({ type: 'flip', to: null, checked: false });
    this.agent.active = null;
    this.#push({ type: 'uninstall', pack });
    if (this.agent.lkg === pack) this.agent.lkg = null;
    const message = `${failure.message} No verified copy of it or of a last-known-good pack is here; the runtime serves nothing until the next sync brings a verified one.`;
    this.#push(
      { type: 'save-state' },
      {
        type: 'emit',
        event: { name: 'rejected', event: { pack, stage: 'pack', code: failure.code, message } },
      },
    );
    this.#recoveryDone(null, failure.code);
  }

  #recoveryDone(trial: SyncOutcome | null, activeFailed: AttemptCode | null): void {
    this.#push(this.#prune(), { type: 'save-state' });
    // The server hears of a failed active pack without waiting for the report interval.
    if (activeFailed !== null) this.#push({ type: 'report', wait: false });
    const result: RecoveryResult = { active: this.agent.active, trial, activeFailed };
    this.phase = { kind: 'idle' };
    this.#push({ type: 'recovery-done', result });
  }

  // ---- sync -----------------------------------------------------------------------------

  #indexAccepted(
    index: ChannelIndexPayload,
    signer: string | null,
    stored: StoredIndex | null,
  ): void {
    const { env, channel } = this.config;
    if (signer !== null && recordIndexVersion(this.agent, env, channel, signer, index.version)) {
      // Refusals of packs the channel no longer lists are of no more use.
      for (const pack of Object.keys(this.agent.failed)) {
        if (!Object.hasOwn(index.packs, pack)) delete this.agent.failed[pack];
      }
      this.#push({ type: 'save-state' });
    }
    if (stored !== null) this.#push({ type: 'store-index', stored });
    this.indexVersion = index.version;
  }

  #indexRefused(code: AttemptCode, message: string): void {
    this.#push({
      type: 'emit',
      event: { name: 'rejected', event: { pack: null, stage: 'index', code, message } },
    });
  }

  #warning(warning: WarningEvent | null): void {
    if (warning !== null) this.#push({ type: 'emit', event: { name: 'warning', event: warning } });
  }

  #offline(message: string, warning: WarningEvent | null): void {
    this.#warning(warning);
    this.#syncDone({ kind: 'offline', message });
  }

  #desired(index: ChannelIndexPayload): Digest | null {
    const target = { id: this.config.targetId, labels: this.config.labels };
    return desiredPack(index, target, this.now).pack as Digest | null;
  }

  /** The desired pack: nothing to do, a pack that failed here before, or an attempt. */
  #choose(index: ChannelIndexPayload): void {
    const pack = this.#desired(index);
    const active = this.agent.active;
    if (pack === null || pack === active) {
      return this.#syncDone({ kind: 'up-to-date', pack: active, indexVersion: index.version });
    }
    const failed = this.agent.failed[pack];
    if (
      failed !== undefined &&
      (failed.channel === undefined || failed.channel === this.#channelKey) &&
      (failed.indexVersion ?? -1) >= index.version
    ) {
      return this.#syncDone({
        kind: 'skipped',
        pack,
        code: failed.code,
        indexVersion: index.version,
      });
    }
    const protect = [active, this.agent.lkg].filter((d) => d !== null);
    this.#wait({ kind: 'downloading', pack, index }, { type: 'fetch-pack', pack, protect });
  }

  #verified(pack: Digest, index: ChannelIndexPayload, manifest: PackManifest): void {
    const refused = coded(() => checkCompatibility(manifest, this.config.runtime));
    if (refused !== null) return this.#reject(pack, refused.code, refused.message, index.version);
    // Policy reads the newest index: the pack may have been revoked while it downloaded.
    this.#wait({ kind: 'refreshing', pack, index, manifest }, { type: 'fetch-index' });
  }

  #decidePolicy(pack: Digest, manifest: PackManifest, latest: ChannelIndexPayload): void {
    const input = {
      digest: pack,
      sequence: manifest.sequence,
      highestActivatedSequence: this.agent.highestActivatedSequence,
    };
    const refused = coded(() => checkPolicy(input, latest, this.now));
    if (refused !== null) return this.#reject(pack, refused.code, refused.message, latest.version);
    if (this.#desired(latest) !== pack) {
      this.#push({ type: 'request-sync' });
      return this.#syncDone({ kind: 'superseded', pack, indexVersion: latest.version });
    }
    const { name, version, sequence } = manifest;
    this.#push({
      type: 'emit',
      event: { name: 'verified', event: { pack, name, version, sequence } },
    });
    this.#wait(
      { kind: 'installing', pack, manifest, indexVersion: latest.version },
      { type: 'install', pack },
    );
  }

  /** Trial record, then the flip. */
  #activate(pack: Digest, manifest: PackManifest, indexVersion: number): void {
    const trial: TrialRecord = {
      schema: TRIAL_SCHEMA,
      pack,
      previous: this.agent.active,
      sequence: manifest.sequence,
      startedAt: this.at,
      deadline: new Date(this.now.getTime() + this.config.trialMs).toISOString(),
      attempts: 1,
    };
    this.#push({ type: 'save-trial', trial });
    this.#wait(
      { kind: 'activating', trial, indexVersion },
      { type: 'flip', to: pack, checked: true },
    );
  }

  #activated(trial: TrialRecord, indexVersion: number, installed: Digest[]): void {
    this.agent.active = trial.pack;
    this.agent.installed = [...installed];
    const event = { pack: trial.pack, previous: trial.previous, deadline: trial.deadline };
    this.#push({ type: 'save-state' }, { type: 'emit', event: { name: 'activated', event } });
    this.#startTrial(trial, indexVersion, false, 'sync');
  }

  #reject(pack: Digest, code: AttemptCode, message: string, indexVersion: number): void {
    this.agent.lastAttempt = { kind: 'verify', pack, result: 'failed', code, at: this.at };
    this.agent.failed[pack] = { code, indexVersion, channel: this.#channelKey, at: this.at };
    this.#push(
      { type: 'save-state' },
      { type: 'emit', event: { name: 'rejected', event: { pack, stage: 'pack', code, message } } },
      { type: 'report', wait: true },
    );
    this.#syncDone({ kind: 'rejected', pack, code, message });
  }

  #syncDone(outcome: SyncOutcome): void {
    this.phase = { kind: 'idle' };
    this.#push({ type: 'sync-done', outcome });
  }

  // ---- trial ----------------------------------------------------------------------------

  /**
   * Health checks until `trialPasses` consecutive passes (commit), `trialFailures` consecutive
   * failures or the deadline (revert). Without a health check the trial commits at once.
   */
  #startTrial(
    trial: TrialRecord,
    indexVersion: number | null,
    once: boolean,
    owner: TrialOwner,
  ): void {
    if (!this.config.healthCheck) return this.#commit(trial, owner);
    const phase: Phase = {
      kind: 'trial',
      trial,
      indexVersion,
      passes: 0,
      failures: 0,
      once,
      owner,
    };
    this.#wait(phase, { type: 'health-check', afterMs: 0 });
  }

  #trialCheck(
    phase: Extract<Phase, { kind: 'trial' }>,
    o: Extract<Observation, { type: 'health-ok' | 'health-failed' | 'interrupted' }>,
  ): void {
    const { trial, indexVersion, once, owner } = phase;
    // A check cut short by stop() says nothing about the pack.
    if (o.type === 'interrupted')
      return this.#trialDone(owner, { kind: 'interrupted', pack: trial.pack });
    this.agent.health = { ok: o.type === 'health-ok', at: this.at, detail: o.detail };
    let { passes, failures } = phase;
    if (o.type === 'health-ok') {
      passes += 1;
      failures = 0;
      if (once || passes >= this.config.trialPasses) return this.#commit(trial, owner);
    } else {
      failures += 1;
      passes = 0;
      if (once || failures >= this.config.trialFailures) {
        return this.#revert(trial, 'HEALTH_CHECK_FAILED', o.detail, indexVersion, owner);
      }
    }
    if (this.now.getTime() >= Date.parse(trial.deadline)) {
      const reason = `the trial deadline ${trial.deadline} passed with ${passes} of ${this.config.trialPasses} passing checks`;
      return this.#revert(trial, 'HEALTH_CHECK_FAILED', reason, indexVersion, owner);
    }
    this.#wait(
      { ...phase, passes, failures },
      { type: 'health-check', afterMs: this.config.healthIntervalMs },
    );
  }

  #commit(trial: TrialRecord, owner: TrialOwner): void {
    const agent = this.agent;
    agent.active = trial.pack;
    agent.lkg = trial.pack;
    agent.highestActivatedSequence = Math.max(agent.highestActivatedSequence ?? 0, trial.sequence);
    agent.lastAttempt = { kind: 'activate', pack: trial.pack, result: 'ok', at: this.at };
    delete agent.failed[trial.pack];
    // The state says committed before the trial record goes: a crash in between is resolved
    // on start as "already committed".
    this.#push(
      { type: 'save-state' },
      { type: 'clear-trial' },
      this.#prune(),
      { type: 'save-state' },
      { type: 'emit', event: { name: 'committed', event: { pack: trial.pack } } },
      { type: 'report', wait: true },
    );
    this.#trialDone(owner, { kind: 'committed', pack: trial.pack });
  }

  /** Back to the previous pack, once it verifies; nothing to verify when there was none. */
  #revert(
    trial: TrialRecord,
    code: AttemptCode,
    reason: string,
    indexVersion: number | null,
    owner: TrialOwner,
  ): void {
    const to = trial.previous;
    if (to === null) return this.#flipBack(trial, code, reason, indexVersion, owner);
    this.#wait(
      { kind: 'reverting', trial, code, reason, indexVersion, owner },
      { type: 'verify', pack: to, source: 'installed' },
    );
  }

  #flipBack(
    trial: TrialRecord,
    code: AttemptCode,
    reason: string,
    indexVersion: number | null,
    owner: TrialOwner,
  ): void {
    const to = trial.previous;
    this.#push({ type: 'flip', to, checked: false });
    this.agent.active = to;
    this.agent.lastAttempt = {
      kind: 'activate',
      pack: trial.pack,
      result: 'failed',
      code,
      at: this.at,
    };
    this.agent.failed[trial.pack] = { code, indexVersion, channel: this.#channelKey, at: this.at };
    this.#push(
      { type: 'save-state' },
      { type: 'clear-trial' },
      this.#prune(),
      { type: 'save-state' },
      { type: 'emit', event: { name: 'reverted', event: { pack: trial.pack, to, code, reason } } },
      { type: 'report', wait: true },
    );
    this.#trialDone(owner, { kind: 'reverted', pack: trial.pack, to, code });
  }

  /** Nothing verified to go back to: stay on the trial pack (it verifies) uncommitted. */
  #revertFailed(
    trial: TrialRecord,
    found: { code: AttemptCode; message: string },
    owner: TrialOwner,
  ): void {
    const to = trial.previous;
    if (to === null) throw new Error('A revert to nothing has nothing to verify.');
    const { code } = found;
    this.agent.lastAttempt = { kind: 'revert', pack: to, result: 'failed', code, at: this.at };
    const message = `Cannot revert to ${to}: ${found.message}`;
    this.#push(
      { type: 'save-state' },
      { type: 'clear-trial' },
      {
        type: 'emit',
        event: { name: 'rejected', event: { pack: to, stage: 'pack', code, message } },
      },
      { type: 'report', wait: true },
    );
    this.#trialDone(owner, { kind: 'revert-failed', pack: trial.pack, code });
  }

  #trialDone(owner: TrialOwner, outcome: SyncOutcome): void {
    if (owner === 'sync') return this.#syncDone(outcome);
    this.#recoveryDone(outcome, null);
  }

  // ---- helpers --------------------------------------------------------------------------

  #prune(): Effect {
    return { type: 'prune', keep: [this.agent.active, this.agent.lkg].filter((d) => d !== null) };
  }

  /** The highest index version seen, which a resumed trial's failure is recorded with. */
  #seen(): number | null {
    return this.agent.highestSeenIndexVersion;
  }

  get #channelKey(): string {
    return channelKey(this.config.env, this.config.channel);
  }
}

/** Runs a check that throws a coded refusal; the refusal, or null when it passed. */
function coded(check: () => void): { code: AttemptCode; message: string } | null {
  try {
    check();
    return null;
  } catch (error) {
    if (isLockgateError(error) || error instanceof AgentError) {
      return { code: error.code, message: error.message };
    }
    throw error;
  }
}
