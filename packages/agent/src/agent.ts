import { EventEmitter } from 'node:events';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CHANNEL_INDEX_PAYLOAD_TYPE,
  desiredPack,
  isLockgateError,
  LockgateError,
  preAuthEncoding,
  verifyBytes,
  verifyChannelIndex,
} from '@lockgate/core';
import type {
  ChannelIndexPayload,
  Digest,
  PackManifest,
  PublicKeyInfo,
  TargetHealth,
  VerifiedPack,
} from '@lockgate/core';
import { AgentError } from './agent-codes.ts';
import type { AttemptCode } from './agent-codes.ts';
import { resolveAgentOptions } from './agent-options.ts';
import type { AgentOptions, ResolvedAgentOptions } from './agent-options.ts';
import {
  AgentPaths,
  channelKey,
  clearTrial,
  highestSeenIndexVersion,
  loadState,
  loadStoredIndex,
  loadTrial,
  recordIndexVersion,
  saveState,
  saveStoredIndex,
  saveTrial,
  storedIndexChannel,
  TRIAL_SCHEMA,
} from './agent-state.ts';
import type { AgentState, StoredIndex, TrialRecord } from './agent-state.ts';
import { errnoOf, fsyncDirectory, removeTree, temporarySibling } from './atomic-fs.ts';
import { runHealthCheck } from './health-check.ts';
import type { HealthCheckResult } from './health-check.ts';
import { PackCache } from './pack-cache.ts';
import {
  flipCurrent,
  installPack,
  isInstalled,
  listInstalled,
  manifestPath,
  packDir,
  readCurrent,
  removeLeftovers,
  uninstallPack,
} from './pack-install.ts';
import {
  checkCompatibility,
  checkPolicy,
  verifyInstalledPack,
  verifyPackFile,
} from './pack-verification.ts';
import type { PackPayload } from './pack-verification.ts';
import { parseRuntimeSample, trafficDelta } from './runtime-metrics.ts';
import type { RuntimeSample } from './runtime-metrics.ts';
import { readBounded, ServerClient } from './server-client.ts';
import type { ReportBody } from './server-client.ts';
import { readServerSentEvents } from './sse-reader.ts';

/** How much of the runtime's metrics answer is read. */
const MAX_RUNTIME_METRICS_BYTES = 4 * 1024 ** 2;

export interface VerifiedEvent {
  pack: Digest;
  name: string;
  version: string;
  sequence: number;
}

export interface ActivatedEvent {
  pack: Digest;
  previous: Digest | null;
  deadline: string;
}

export interface CommittedEvent {
  pack: Digest;
}

export interface RevertedEvent {
  /** the pack whose trial failed */
  pack: Digest;
  /** what runs now */
  to: Digest | null;
  code: AttemptCode;
  reason: string;
}

export interface RejectedEvent {
  /** the refused pack, or null for a refused channel index */
  pack: Digest | null;
  stage: 'index' | 'pack';
  code: AttemptCode;
  message: string;
}

export interface RepairedEvent {
  /** the active pack, whose files no longer verified and were restored from a verified copy */
  pack: Digest;
  /** what the check found (PACK_FILE_HASH_MISMATCH, PACK_FILE_MISSING, ...) */
  code: AttemptCode;
  message: string;
}

export interface WarningEvent {
  code: string;
  message: string;
}

/** The agent's events and their arguments. */
export interface AgentEventMap {
  verified: [VerifiedEvent];
  activated: [ActivatedEvent];
  committed: [CommittedEvent];
  reverted: [RevertedEvent];
  rejected: [RejectedEvent];
  repaired: [RepairedEvent];
  /** something went wrong that changes nothing (server unreachable, report not sent) */
  warning: [WarningEvent];
}

/** What one sync did. */
export type SyncOutcome =
  | { kind: 'offline'; message: string }
  | { kind: 'index-rejected'; code: AttemptCode; message: string }
  | { kind: 'up-to-date'; pack: Digest | null; indexVersion: number }
  | { kind: 'skipped'; pack: Digest; code: string; indexVersion: number }
  | { kind: 'superseded'; pack: Digest; indexVersion: number }
  | { kind: 'rejected'; pack: Digest; code: AttemptCode; message: string }
  | { kind: 'committed'; pack: Digest }
  | { kind: 'reverted'; pack: Digest; to: Digest | null; code: AttemptCode }
  | { kind: 'revert-failed'; pack: Digest; code: AttemptCode }
  | { kind: 'interrupted'; pack: Digest };

/** What start-up recovery found and did. */
export interface RecoveryResult {
  /** the pack `current` points at afterwards */
  active: Digest | null;
  /** how an interrupted trial ended, when there was one */
  trial: SyncOutcome | null;
  /** the code when the active pack no longer verified */
  activeFailed: AttemptCode | null;
}

/** A read-only view of the agent. */
export interface AgentStatus {
  state: AgentState;
  indexVersion: number | null;
  running: boolean;
}

/** Creates an agent; nothing happens until `start()` (or `recover()` / `syncOnce()`). */
export function createAgent(options: AgentOptions): Agent {
  return new Agent(resolveAgentOptions(options));
}

/**
 * The runtime agent: sync the signed channel index, fetch and verify the desired pack,
 * activate it with one atomic flip, run a trial, commit or revert, report. See README.md.
 */
export class Agent extends EventEmitter<AgentEventMap> {
  readonly options: Readonly<ResolvedAgentOptions>;
  readonly #paths: AgentPaths;
  readonly #client: ServerClient;
  readonly #cache: PackCache;
  #state: AgentState | null = null;
  #recovery: Promise<RecoveryResult> | null = null;
  #index: ChannelIndexPayload | null = null;
  #stored: StoredIndex | null = null;
  #registered = false;
  #tail: Promise<unknown> = Promise.resolve();
  #reporting: Promise<unknown> = Promise.resolve();
  #reportedSample: RuntimeSample | null = null;
  #run: { controller: AbortController; loops: Promise<void>[] } | null = null;
  #dirty = false;
  #wake: (() => void) | null = null;

  constructor(options: Readonly<ResolvedAgentOptions>) {
    super();
    this.options = options;
    this.#paths = new AgentPaths(options.dir);
    this.#client = new ServerClient({
      server: options.server,
      token: options.token,
      fetch: options.fetch,
      timeoutMs: options.requestTimeoutMs,
      downloadTimeoutMs: options.downloadTimeoutMs,
      maxIndexBytes: options.maxIndexBytes,
    });
    this.#cache = new PackCache(this.#paths.cache, options.cacheMaxBytes);
  }

  /** The agent directory's layout. */
  get paths(): AgentPaths {
    return this.#paths;
  }

  status(): AgentStatus {
    const state = this.#state;
    if (state === null) throw new Error('The agent has not recovered its directory yet.');
    return {
      state: structuredClone(state),
      indexVersion: this.#index?.version ?? null,
      running: this.#run !== null,
    };
  }

  /**
   * Recovers the directory, registers, then syncs on every poll interval and on every index
   * event, and reports on the report interval, until `stop()`.
   */
  async start(): Promise<void> {
    if (this.#run !== null) return;
    const controller = new AbortController();
    this.#run = { controller, loops: [] };
    try {
      await this.recover();
    } catch (error) {
      this.#run = null;
      throw error;
    }
    const { signal } = controller;
    this.#run.loops.push(this.#syncLoop(signal), this.#reportLoop(signal));
    if (this.options.events) this.#run.loops.push(this.#eventLoop(signal));
  }

  /** Stops the loops and waits for them; an unfinished trial is resolved on the next start. */
  async stop(): Promise<void> {
    const run = this.#run;
    if (run === null) return;
    run.controller.abort();
    this.#wake?.();
    await Promise.allSettled(run.loops);
    await this.#tail.catch(() => undefined);
    await this.#reporting.catch(() => undefined);
    this.#run = null;
  }

  /**
   * Brings the directory to a consistent state, once: removes leftovers of interrupted writes,
   * resolves an interrupted trial (reverts unless the health check passes), re-verifies the
   * active pack against its stored manifest and falls back to lkg when it no longer verifies.
   */
  recover(): Promise<RecoveryResult> {
    this.#recovery ??= this.#exclusive(() => this.#recover());
    return this.#recovery;
  }

  /**
   * One sync: fetch and check the channel index, compute the desired pack and, when it
   * differs from the active one, fetch, verify, activate and run its trial to the end.
   */
  async syncOnce(): Promise<SyncOutcome> {
    await this.recover();
    return this.#exclusive(() => this.#sync(this.#run?.controller.signal));
  }

  /** Sends one report (active pack, last attempt, health and traffic deltas). False when it failed. */
  report(): Promise<boolean> {
    const next = this.#reporting.then(() => this.#report(this.#run?.controller.signal));
    this.#reporting = next.catch(() => undefined);
    return next;
  }

  // ---- recovery -------------------------------------------------------------------------

  async #recover(): Promise<RecoveryResult> {
    const paths = this.#paths;
    await mkdir(paths.cache, { recursive: true });
    await mkdir(paths.packs, { recursive: true });
    await removeLeftovers(paths);
    const { env, channel } = this.options;
    const state = await loadState(paths, {
      env,
      channel,
      serverKeyIds: this.options.serverKeys.map((k) => k.keyId),
    });
    this.#state = state;
    const stored = await loadStoredIndex(paths);
    const storedFor = stored === null ? null : storedIndexChannel(stored);
    // An index of the channel the agent was on before a move is no answer for this one: its
    // ETag must not turn this channel's index into a 304.
    this.#stored = storedFor?.env === env && storedFor.channel === channel ? stored : null;
    const current = await readCurrent(paths);
    state.active = current;
    state.installed = await listInstalled(paths);
    let trialOutcome: SyncOutcome | null = null;
    let verifiedActive = false;
    const trial = await loadTrial(paths);
    if (trial !== null) {
      if (current !== trial.pack) {
        // The flip never happened, or the revert's flip did: what runs is what `current` says.
        await saveState(paths, state);
        await clearTrial(paths);
      } else if (committedAfter(state, trial)) {
        // The commit was saved; only the trial record was left.
        await clearTrial(paths);
      } else {
        trialOutcome = await this.#resumeTrial(trial);
        verifiedActive = true;
      }
    }
    let activeFailed: AttemptCode | null = null;
    const active = state.active;
    if (active !== null && !verifiedActive) {
      const check = await this.#checkInstalled(active);
      if (check instanceof LockgateError) {
        activeFailed = check.code;
        await this.#repairOrLeave(active, check);
      }
    }
    await this.#prune();
    await saveState(paths, state);
    // The server hears of it without waiting for the report interval.
    if (activeFailed !== null) void this.report();
    return { active: state.active, trial: trialOutcome, activeFailed };
  }

  /** An interrupted trial found on start: revert unless the health check passes. */
  async #resumeTrial(trial: TrialRecord): Promise<SyncOutcome> {
    const resumed: TrialRecord = { ...trial, attempts: trial.attempts + 1 };
    await saveTrial(this.#paths, resumed);
    const indexVersion = this.#state?.highestSeenIndexVersion ?? null;
    if (resumed.attempts > this.options.maxTrialAttempts) {
      return this.#revert(
        resumed,
        'TRIAL_INTERRUPTED',
        `the trial was interrupted ${trial.attempts} times`,
        indexVersion,
      );
    }
    const check = await this.#checkInstalled(resumed.pack);
    if (check instanceof LockgateError) {
      return this.#revert(resumed, check.code, check.message, indexVersion);
    }
    const expired = this.options.clock.now().getTime() >= Date.parse(resumed.deadline);
    return this.#runTrial(resumed, indexVersion, undefined, expired);
  }

  /**
   * The active pack no longer verifies (its files changed on disk). Repair it from a cached
   * pack file that verifies; else stop serving it: go to lkg when lkg verifies, else remove
   * `current` so that the runtime serves nothing, and leave the verified copy to the next
   * sync (it downloads the pack again through the ordinary road: verify, policy, flip, trial).
   * Either way `lastAttempt` carries the code and a report is sent.
   */
  async #repairOrLeave(active: Digest, failure: LockgateError): Promise<void> {
    const state = this.#requireState();
    const at = this.#nowIso();
    state.lastAttempt = { kind: 'verify', pack: active, result: 'failed', code: failure.code, at };
    await saveState(this.#paths, state);
    if (await this.#repairFromCache(active)) {
      // Failed on disk, verified again: `ok` with the code of what was found.
      state.lastAttempt = { kind: 'verify', pack: active, result: 'ok', code: failure.code, at };
      await saveState(this.#paths, state);
      this.emit('repaired', { pack: active, code: failure.code, message: failure.message });
      return;
    }
    const lkg = state.lkg;
    if (lkg !== null && lkg !== active) {
      const check = await this.#checkInstalled(lkg);
      if (!(check instanceof LockgateError)) {
        await flipCurrent(this.#paths, lkg);
        state.active = lkg;
        await saveState(this.#paths, state);
        this.emit('reverted', {
          pack: active,
          to: lkg,
          code: failure.code,
          reason: failure.message,
        });
        return;
      }
    }
    // Nothing verified to serve: serve nothing rather than files that fail their hashes.
    await flipCurrent(this.#paths, null);
    state.active = null;
    await uninstallPack(this.#paths, active);
    if (state.lkg === active) state.lkg = null;
    state.installed = await listInstalled(this.#paths);
    await saveState(this.#paths, state);
    this.emit('rejected', {
      pack: active,
      stage: 'pack',
      code: failure.code,
      message: `${failure.message} No verified copy of it or of a last-known-good pack is here; the runtime serves nothing until the next sync brings a verified one.`,
    });
  }

  /**
   * Re-extracts the active pack from its cached file when that file verifies, into a fresh
   * directory beside the agent's, then swaps it in: the damaged directory is renamed away and
   * the fresh one renamed to its place (between the two renames `current` leads nowhere; a
   * crash there is repaired again on the next start). A cached file that fails is removed.
   */
  async #repairFromCache(digest: Digest): Promise<boolean> {
    const file = await this.#cache.lookup(digest);
    if (file === null) return false;
    let contents: Awaited<ReturnType<typeof verifyPackFile>>;
    try {
      contents = await verifyPackFile(file, {
        expectedDigest: digest,
        trustedKeys: this.options.buildKeys,
      });
    } catch (error) {
      if (!isLockgateError(error)) throw error;
      await this.#cache.remove(digest);
      return false;
    }
    const paths = this.#paths;
    const staging = new AgentPaths(temporarySibling(join(paths.dir, 'repair')));
    try {
      await mkdir(staging.packs, { recursive: true });
      await installPack(staging, digest, contents.manifest, contents.files);
      const damaged = temporarySibling(packDir(paths, digest));
      await rename(packDir(paths, digest), damaged).catch((error: unknown) => {
        if (errnoOf(error) !== 'ENOENT') throw error;
      });
      await rename(packDir(staging, digest), packDir(paths, digest));
      await rename(manifestPath(staging, digest), manifestPath(paths, digest));
      await fsyncDirectory(paths.packs);
      await removeTree(damaged);
    } catch (error) {
      this.emit('warning', {
        code: 'ACTIVATION_FAILED',
        message: `Repairing ${digest} from the cache failed: ${messageOf(error)}`,
      });
      return false;
    } finally {
      await removeTree(staging.dir);
    }
    return !((await this.#checkInstalled(digest)) instanceof LockgateError);
  }

  // ---- sync -----------------------------------------------------------------------------

  async #sync(signal: AbortSignal | undefined): Promise<SyncOutcome> {
    const state = this.#requireState();
    if (!this.#registered) await this.#register(signal);
    const fetched = await this.#fetchIndex(signal);
    if (fetched.kind !== 'index') return fetched;
    const index = fetched.index;
    const now = this.options.clock.now();
    const desired = desiredPack(
      index,
      { id: this.options.targetId, labels: this.options.labels },
      now,
    );
    const pack = desired.pack as Digest | null;
    if (pack === null || pack === state.active) {
      return { kind: 'up-to-date', pack: state.active, indexVersion: index.version };
    }
    const failed = state.failed[pack];
    if (
      failed !== undefined &&
      (failed.channel === undefined || failed.channel === this.#channelKey) &&
      (failed.indexVersion ?? -1) >= index.version
    ) {
      return { kind: 'skipped', pack, code: failed.code, indexVersion: index.version };
    }
    return this.#attempt(pack, index, signal);
  }

  async #register(signal: AbortSignal | undefined): Promise<void> {
    const capabilities: Record<string, string> = { ...this.options.capabilities };
    if (this.options.runtimeVersion !== null) capabilities.runtime = this.options.runtimeVersion;
    try {
      await this.#client.registerTarget(
        this.options.targetId,
        {
          env: this.options.env,
          channel: this.options.channel,
          labels: { ...this.options.labels },
          capabilities,
        },
        signal,
      );
      this.#registered = true;
    } catch (error) {
      this.#warn(error);
    }
  }

  /** The newest acceptable index, or why there is none to act on. */
  async #fetchIndex(
    signal: AbortSignal | undefined,
  ): Promise<
    | { kind: 'index'; index: ChannelIndexPayload }
    | Extract<SyncOutcome, { kind: 'offline' | 'index-rejected' }>
  > {
    const state = this.#requireState();
    const stored = this.#stored;
    let response;
    try {
      response = await this.#client.fetchIndex(
        this.options.env,
        this.options.channel,
        stored?.etag ?? null,
        signal,
      );
    } catch (error) {
      if (error instanceof AgentError && error.code === 'INDEX_TOO_LARGE') {
        // Nothing of it is used; what runs stays, and the next sync asks again.
        this.emit('rejected', {
          pack: null,
          stage: 'index',
          code: error.code,
          message: error.message,
        });
        return { kind: 'index-rejected', code: error.code, message: error.message };
      }
      this.#warn(error);
      return { kind: 'offline', message: messageOf(error) };
    }
    const envelope = response.kind === 'index' ? response.envelope : (stored?.envelope ?? null);
    if (envelope === null) {
      // A 304 without a stored index (it was removed): ask again without the ETag next time.
      this.#stored = null;
      return { kind: 'offline', message: 'The server answered 304 but no index is stored.' };
    }
    const { env, channel } = this.options;
    const signer = indexSignerOf(envelope, this.options.serverKeys);
    let index: ChannelIndexPayload;
    try {
      index = verifyChannelIndex(envelope, this.options.serverKeys, {
        now: this.options.clock.now(),
        // The floor of this channel for the key that signed it (the key is checked again here).
        highestSeenVersion:
          signer === null ? null : highestSeenIndexVersion(state, env, channel, signer),
        env,
        channel,
      });
    } catch (error) {
      if (!isLockgateError(error)) throw error;
      this.emit('rejected', {
        pack: null,
        stage: 'index',
        code: error.code,
        message: error.message,
      });
      return { kind: 'index-rejected', code: error.code, message: error.message };
    }
    if (signer !== null && recordIndexVersion(state, env, channel, signer, index.version)) {
      // Refusals of packs the channel no longer lists are of no more use.
      for (const pack of Object.keys(state.failed)) {
        if (!Object.hasOwn(index.packs, pack)) delete state.failed[pack];
      }
      await saveState(this.#paths, state);
    }
    if (response.kind === 'index') {
      this.#stored = { etag: response.etag, envelope: envelope as StoredIndex['envelope'] };
      await saveStoredIndex(this.#paths, this.#stored);
    }
    this.#index = index;
    return { kind: 'index', index };
  }

  /** Verify (compatibility and policy included), install, flip, trial. */
  async #attempt(
    pack: Digest,
    index: ChannelIndexPayload,
    signal: AbortSignal | undefined,
  ): Promise<SyncOutcome> {
    const state = this.#requireState();
    let verified: VerifiedPack;
    let files: PackPayload | null = null;
    let latest = index;
    try {
      if (await isInstalled(this.#paths, pack)) {
        const check = await this.#checkInstalled(pack);
        if (check instanceof LockgateError) {
          await uninstallPack(this.#paths, pack);
          throw check;
        }
        verified = check;
      } else {
        const protect = new Set([state.active, state.lkg].filter((d) => d !== null));
        const file = await this.#cache.fetch(pack, this.#client, protect, signal);
        try {
          const contents = await verifyPackFile(file, {
            expectedDigest: pack,
            trustedKeys: this.options.buildKeys,
          });
          verified = contents;
          files = contents.files;
        } catch (error) {
          // A file that fails its checks is never used again; the next try downloads afresh.
          await this.#cache.remove(pack);
          throw error;
        }
      }
      checkCompatibility(verified.manifest, this.options);
      // Policy reads the newest index: the pack may have been revoked while it downloaded.
      const refreshed = await this.#fetchIndex(signal);
      if (refreshed.kind === 'index') latest = refreshed.index;
      const now = this.options.clock.now();
      checkPolicy(
        {
          digest: pack,
          sequence: verified.manifest.sequence,
          highestActivatedSequence: state.highestActivatedSequence,
        },
        latest,
        now,
      );
      const still = desiredPack(
        latest,
        { id: this.options.targetId, labels: this.options.labels },
        now,
      );
      if (still.pack !== pack) {
        this.#dirty = true;
        return { kind: 'superseded', pack, indexVersion: latest.version };
      }
    } catch (error) {
      if (error instanceof AgentError && error.code === 'SERVER_UNREACHABLE') {
        this.#warn(error);
        return { kind: 'offline', message: error.message };
      }
      if (isLockgateError(error) || error instanceof AgentError) {
        return this.#reject(pack, error.code, error.message, latest.version);
      }
      throw error;
    }
    const { manifest } = verified;
    this.emit('verified', {
      pack,
      name: manifest.name,
      version: manifest.version,
      sequence: manifest.sequence,
    });
    try {
      if (files !== null) await installPack(this.#paths, pack, manifest, files);
    } catch (error) {
      return this.#reject(
        pack,
        'ACTIVATION_FAILED',
        `Installing the pack failed: ${messageOf(error)}`,
        latest.version,
      );
    }
    return this.#activate(pack, manifest, latest.version, signal);
  }

  async #reject(
    pack: Digest,
    code: AttemptCode,
    message: string,
    indexVersion: number,
  ): Promise<SyncOutcome> {
    const state = this.#requireState();
    const at = this.#nowIso();
    state.lastAttempt = { kind: 'verify', pack, result: 'failed', code, at };
    state.failed[pack] = { code, indexVersion, channel: this.#channelKey, at };
    await saveState(this.#paths, state);
    this.emit('rejected', { pack, stage: 'pack', code, message });
    await this.report();
    return { kind: 'rejected', pack, code, message };
  }

  /** Trial record, then the flip, then the trial itself. */
  async #activate(
    pack: Digest,
    manifest: PackManifest,
    indexVersion: number,
    signal: AbortSignal | undefined,
  ): Promise<SyncOutcome> {
    const state = this.#requireState();
    const now = this.options.clock.now();
    const trial: TrialRecord = {
      schema: TRIAL_SCHEMA,
      pack,
      previous: state.active,
      sequence: manifest.sequence,
      startedAt: now.toISOString(),
      deadline: new Date(now.getTime() + this.options.trialMs).toISOString(),
      attempts: 1,
    };
    await saveTrial(this.#paths, trial);
    try {
      await flipCurrent(this.#paths, pack);
    } catch (error) {
      // The rename is atomic: find out whether it happened.
      if ((await readCurrent(this.#paths).catch(() => null)) !== pack) {
        await clearTrial(this.#paths);
        return this.#reject(
          pack,
          'ACTIVATION_FAILED',
          `The flip failed: ${messageOf(error)}`,
          indexVersion,
        );
      }
    }
    state.active = pack;
    state.installed = await listInstalled(this.#paths);
    await saveState(this.#paths, state);
    this.emit('activated', { pack, previous: trial.previous, deadline: trial.deadline });
    return this.#runTrial(trial, indexVersion, signal, false);
  }

  /**
   * Health checks until `trialPasses` consecutive passes (commit), `trialFailures` consecutive
   * failures or the deadline (revert). `once`: one check decides (a trial resumed after its
   * deadline). Without a health check the trial commits at once.
   */
  async #runTrial(
    trial: TrialRecord,
    indexVersion: number | null,
    signal: AbortSignal | undefined,
    once: boolean,
  ): Promise<SyncOutcome> {
    if (this.options.healthCheck === null) return this.#commit(trial);
    const deadline = Date.parse(trial.deadline);
    let passes = 0;
    let failures = 0;
    for (;;) {
      if (aborted(signal)) return { kind: 'interrupted', pack: trial.pack };
      const result = await this.#checkHealth(signal);
      // A check cut short by stop() says nothing about the pack.
      if (aborted(signal)) return { kind: 'interrupted', pack: trial.pack };
      if (result.ok) {
        passes += 1;
        failures = 0;
        if (once || passes >= this.options.trialPasses) return this.#commit(trial);
      } else {
        failures += 1;
        passes = 0;
        if (once || failures >= this.options.trialFailures) {
          return this.#revert(trial, 'HEALTH_CHECK_FAILED', result.detail, indexVersion);
        }
      }
      if (this.options.clock.now().getTime() >= deadline) {
        return this.#revert(
          trial,
          'HEALTH_CHECK_FAILED',
          `the trial deadline ${trial.deadline} passed with ${passes} of ${this.options.trialPasses} passing checks`,
          indexVersion,
        );
      }
      await sleep(this.options.healthIntervalMs, signal);
    }
  }

  async #commit(trial: TrialRecord): Promise<SyncOutcome> {
    const state = this.#requireState();
    state.active = trial.pack;
    state.lkg = trial.pack;
    state.highestActivatedSequence = Math.max(state.highestActivatedSequence ?? 0, trial.sequence);
    state.lastAttempt = { kind: 'activate', pack: trial.pack, result: 'ok', at: this.#nowIso() };
    delete state.failed[trial.pack];
    // The state says committed before the trial record goes: a crash in between is resolved
    // on start as "already committed".
    await saveState(this.#paths, state);
    await clearTrial(this.#paths);
    await this.#prune();
    await saveState(this.#paths, state);
    this.emit('committed', { pack: trial.pack });
    await this.report();
    return { kind: 'committed', pack: trial.pack };
  }

  async #revert(
    trial: TrialRecord,
    code: AttemptCode,
    reason: string,
    indexVersion: number | null,
  ): Promise<SyncOutcome> {
    const state = this.#requireState();
    const to = trial.previous;
    const at = this.#nowIso();
    if (to !== null) {
      const check = await this.#checkInstalled(to);
      if (check instanceof LockgateError) {
        // Nothing verified to go back to: stay on the trial pack (it verifies) uncommitted.
        state.lastAttempt = { kind: 'revert', pack: to, result: 'failed', code: check.code, at };
        await saveState(this.#paths, state);
        await clearTrial(this.#paths);
        this.emit('rejected', {
          pack: to,
          stage: 'pack',
          code: check.code,
          message: `Cannot revert to ${to}: ${check.message}`,
        });
        await this.report();
        return { kind: 'revert-failed', pack: trial.pack, code: check.code };
      }
    }
    await flipCurrent(this.#paths, to);
    state.active = to;
    state.lastAttempt = { kind: 'activate', pack: trial.pack, result: 'failed', code, at };
    state.failed[trial.pack] = { code, indexVersion, channel: this.#channelKey, at };
    await saveState(this.#paths, state);
    await clearTrial(this.#paths);
    await this.#prune();
    await saveState(this.#paths, state);
    this.emit('reverted', { pack: trial.pack, to, code, reason });
    await this.report();
    return { kind: 'reverted', pack: trial.pack, to, code };
  }

  /** Removes installed packs that are neither active nor lkg. */
  async #prune(): Promise<void> {
    const state = this.#requireState();
    const keep = new Set([state.active, state.lkg]);
    for (const digest of await listInstalled(this.#paths)) {
      if (!keep.has(digest)) await uninstallPack(this.#paths, digest);
    }
    state.installed = await listInstalled(this.#paths);
  }

  /** The installed pack verified against its stored manifest, or the LockgateError why not. */
  async #checkInstalled(digest: Digest): Promise<VerifiedPack | LockgateError> {
    try {
      return await verifyInstalledPack(
        packDir(this.#paths, digest),
        manifestPath(this.#paths, digest),
        { expectedDigest: digest, trustedKeys: this.options.buildKeys },
      );
    } catch (error) {
      if (isLockgateError(error)) return error;
      return new LockgateError(
        'PACK_FILE_MISSING',
        `The installed pack ${digest} cannot be read.`,
        {
          cause: error,
          details: { pack: digest },
        },
      );
    }
  }

  async #checkHealth(signal: AbortSignal | undefined): Promise<HealthCheckResult> {
    const spec = this.options.healthCheck;
    if (spec === null) return { ok: true, detail: 'no health check configured' };
    const state = this.#requireState();
    const result = await runHealthCheck(spec, {
      fetch: this.options.fetch,
      env: {
        LOCKGATE_PACK_DIR: this.#paths.current,
        LOCKGATE_PACK: state.active ?? '',
        LOCKGATE_TARGET_ID: this.options.targetId,
      },
      signal,
    });
    state.health = { ok: result.ok, at: this.#nowIso(), detail: result.detail };
    return result;
  }

  // ---- reports --------------------------------------------------------------------------

  async #report(signal: AbortSignal | undefined): Promise<boolean> {
    const state = this.#state;
    if (state === null) return false;
    const body: ReportBody = { activePack: state.active };
    if (state.lastAttempt !== null) body.lastAttempt = state.lastAttempt;
    const health: TargetHealth = {};
    let sample: RuntimeSample | null = null;
    const metrics = this.options.runtimeMetrics;
    if (metrics !== null) {
      try {
        const response = await this.options.fetch(metrics.url, {
          signal: AbortSignal.timeout(metrics.timeoutMs),
        });
        if (!response.ok) throw new Error(`GET ${metrics.url} answered ${response.status}`);
        const bytes = await readBounded(response, MAX_RUNTIME_METRICS_BYTES);
        if (bytes === null) {
          throw new Error(
            `GET ${metrics.url} answered more than ${MAX_RUNTIME_METRICS_BYTES} bytes`,
          );
        }
        sample = parseRuntimeSample(new TextDecoder().decode(bytes), metrics);
        Object.assign(health, trafficDelta(this.#reportedSample, sample, metrics));
      } catch (error) {
        this.emit('warning', {
          code: 'RUNTIME_METRICS_UNAVAILABLE',
          message: `The runtime metrics could not be read: ${messageOf(error)}`,
        });
      }
    }
    if (this.options.healthCheck !== null) {
      // Outside a trial the check only informs the report.
      if (!(await this.#trialRunning())) {
        const result = await this.#checkHealth(signal);
        health.signals = { health_check: result.ok ? 1 : 0 };
      } else if (state.health !== null) {
        health.signals = { health_check: state.health.ok ? 1 : 0 };
      }
    }
    if (Object.keys(health).length > 0) body.health = health;
    try {
      await this.#client.postReport(this.options.targetId, body, signal);
    } catch (error) {
      this.#warn(error);
      return false;
    }
    if (sample !== null) this.#reportedSample = sample;
    return true;
  }

  async #trialRunning(): Promise<boolean> {
    return (await loadTrial(this.#paths).catch(() => null)) !== null;
  }

  // ---- loops ----------------------------------------------------------------------------

  async #syncLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      this.#dirty = false;
      try {
        await this.#exclusive(() => this.#sync(signal));
      } catch (error) {
        this.emit('warning', { code: 'SYNC_FAILED', message: messageOf(error) });
      }
      await this.#waitForWake(this.options.pollIntervalMs, signal);
    }
  }

  async #reportLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.report().catch((error: unknown) => {
        this.emit('warning', { code: 'REPORT_FAILED', message: messageOf(error) });
      });
      await sleep(this.options.reportIntervalMs, signal);
    }
  }

  /** Listens to the channel's events; an `index` event newer than what was seen wakes the sync. */
  async #eventLoop(signal: AbortSignal): Promise<void> {
    let pause = this.options.reconnectMinMs;
    while (!signal.aborted) {
      try {
        const response = await this.#client.openEvents(
          this.options.env,
          this.options.channel,
          signal,
        );
        pause = this.options.reconnectMinMs;
        // Whatever changed while disconnected is fetched now.
        this.#requestSync();
        if (response.body !== null) {
          const limits = { maxEventBytes: this.options.maxEventBytes };
          for await (const event of readServerSentEvents(response.body, limits)) {
            if (event.event === 'index' && this.#isNewer(event.data)) this.#requestSync();
          }
        }
      } catch (error) {
        if (signal.aborted) break;
        this.#warn(error);
      }
      await sleep(pause, signal);
      pause = Math.min(pause * 2, this.options.reconnectMaxMs);
    }
  }

  #isNewer(data: string): boolean {
    try {
      const { version } = JSON.parse(data) as { version?: unknown };
      if (typeof version !== 'number') return true;
      return version > (this.#state?.highestSeenIndexVersion ?? -1);
    } catch {
      return true;
    }
  }

  #requestSync(): void {
    this.#dirty = true;
    this.#wake?.();
  }

  #waitForWake(ms: number, signal: AbortSignal): Promise<void> {
    if (this.#dirty || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.#wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.#wake = done;
    });
  }

  // ---- helpers --------------------------------------------------------------------------

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn, fn);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  get #channelKey(): string {
    return channelKey(this.options.env, this.options.channel);
  }

  #requireState(): AgentState {
    if (this.#state === null) throw new Error('The agent has not recovered its directory yet.');
    return this.#state;
  }

  #nowIso(): string {
    return this.options.clock.now().toISOString();
  }

  #warn(error: unknown): void {
    const code =
      error instanceof AgentError || isLockgateError(error) ? error.code : 'SERVER_UNREACHABLE';
    this.emit('warning', { code, message: messageOf(error) });
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted === true) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** True when the state records this trial's commit (saved just before the record goes). */
function committedAfter(state: AgentState, trial: TrialRecord): boolean {
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

/**
 * The id of the first trusted key whose signature over the envelope verifies (the one
 * `verifyChannelIndex` accepts it on), or null when none does (it then refuses the envelope).
 */
function indexSignerOf(envelope: unknown, keys: readonly PublicKeyInfo[]): string | null {
  if (typeof envelope !== 'object' || envelope === null) return null;
  const { payloadType, payload, signatures } = envelope as Record<string, unknown>;
  if (payloadType !== CHANNEL_INDEX_PAYLOAD_TYPE || typeof payload !== 'string') return null;
  if (!Array.isArray(signatures)) return null;
  const pae = preAuthEncoding(CHANNEL_INDEX_PAYLOAD_TYPE, Buffer.from(payload, 'base64'));
  for (const entry of signatures as unknown[]) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { keyid, sig } = entry as Record<string, unknown>;
    if (typeof keyid !== 'string' || typeof sig !== 'string') continue;
    const key = keys.find((k) => k.keyId === keyid);
    if (key !== undefined && verifyBytes(pae, sig, key.key)) return keyid;
  }
  return null;
}

function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
