import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { channelCall, decide, isTerminal } from '@lockgate/core';
import type { ChannelEvent, ChannelState, PrometheusAnswer, ReleaseState } from '@lockgate/core';
import type { BlobStore } from '../../blob-store.ts';
import type { Clock } from '../../clock.ts';
import type { StoresOf } from '../../stores.ts';
import type { ChannelKey, SignedIndex, StoredChannel } from '../channels/public.ts';
import { commitLockedChannel } from '../decisions/public.ts';
import type { ChannelRows } from '../decisions/public.ts';
import { IDEMPOTENCY_RETENTION_SECONDS } from '../idempotency/public.ts';
import { commitReleaseChange } from '../releases/public.ts';
import { loadReleaseContext, lockAndReadRelease, reportWindowStartMs } from '../releases/public.ts';
import type { ReleaseContextReads } from '../releases/public.ts';
import type { IndexSigningKey, ServerKeyService } from '../server-keys/public.ts';
import { createReleaseInputs } from '../releases/public.ts';
import type { ReleaseInputs } from '../releases/public.ts';
import type { ControllerLease } from './controller-lease.ts';

/** The stores this module uses, and no others. */
type UsedStores = StoresOf<
  | 'builds'
  | 'channels'
  | 'contexts'
  | 'decisions'
  | 'environments'
  | 'idempotency'
  | 'lease'
  | 'log'
  | 'packs'
  | 'releases'
  | 'revocations'
  | 'serverKeys'
  | 'targets'
  | 'trust'
  | 'webhooks'
  | 'statements'
>;

/** Target reports older than this are deleted by the controller, unless a live release reads them. */
export const REPORT_RETENTION_SECONDS = 24 * 3600;
/** After an event (report, command, new release) the controller runs within this delay. */
export const WAKE_DEBOUNCE_MS = 200;

/** What one tick did. */
export interface TickResult {
  /** false when another process holds the lease (nothing was done) */
  leader: boolean;
  /** decision records written */
  decisions: number;
  /** channel indexes re-signed */
  indexes: number;
  /** releases whose reconciliation failed (logged; retried next tick) */
  failures: number;
}

export interface Controller {
  /** Identifies this controller in the decision records it writes (`holder`). */
  readonly holder: string;
  /**
   * One reconciliation: takes or renews the lease; then, for each release that has not ended:
   * load its context and core decide(context, now) without a lock; when that changes anything,
   * in one transaction with the channel locked: load its context again, decide, save the release
   * (version-checked), append the decision records, apply the actions to the channel and
   * re-sign its index. Then lapses expired pins, re-signs indexes within half their TTL of
   * expiry, and prunes old reports and idempotency keys.
   */
  tick(): Promise<TickResult>;
  /**
   * Runs tick every intervalMs, and soon after wake(); after each tick it pauses at least as long
   * as that tick took (ticks hold the event loop at most half the time).
   */
  start(): void;
  /** Asks for a tick soon (debounced); does nothing unless started. */
  wake(): void;
  /** Stops the loop, waits for a running tick and gives the lease up. Safe to call twice. */
  stop(): Promise<void>;
}

export interface ControllerDeps {
  stores: UsedStores;
  blobs: BlobStore;
  clock: Clock;
  keys: ServerKeyService;
  lease: ControllerLease;
  intervalMs: number;
  /** told after commit when a channel index has a new version */
  indexChanged: (key: ChannelKey, version: number) => void;
  /** errors of a tick (logged by the server); the loop goes on */
  onError?: (error: unknown, context: Record<string, unknown>) => void;
  /** told after each tick with its duration (metrics) */
  onTick?: (result: TickResult, seconds: number) => void;
  /**
   * The answers to the prometheus gates of a release's current stage, fetched before its
   * transaction and passed to decide in the context (features/metrics/prometheus-answers.ts).
   */
  gateAnswers?: (releaseId: string, now: Date) => Promise<PrometheusAnswer[]>;
  /** what ticks keep between them, shared with the operator commands (a new one when absent) */
  inputs?: ReleaseInputs;
}

/** `host:pid:random`, so a record tells which process decided. */
export function newHolderId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

export function createController(deps: ControllerDeps): Controller {
  const { stores, blobs, clock, keys, lease, intervalMs, indexChanged } = deps;
  const { holder } = lease;
  const onError = deps.onError ?? (() => undefined);
  // Targets, stage membership and reports kept between ticks: a tick reads what changed.
  const inputs = deps.inputs ?? createReleaseInputs();

  const publish = (changes: readonly { key: ChannelKey; index: SignedIndex }[]): number => {
    for (const { key, index } of changes) indexChanged(key, index.version);
    return changes.length;
  };

  const reconcile = async (
    id: string,
    now: Date,
    key: IndexSigningKey,
  ): Promise<{ decisions: number; indexes: number }> => {
    const answers = deps.gateAnswers === undefined ? [] : await deps.gateAnswers(id, now);
    const contextOf = async (
      tx: UsedStores,
      release: ReleaseState,
      channel: StoredChannel,
      at: Date,
      rows?: ChannelRows,
      read?: ReleaseContextReads,
    ) => {
      const loaded = await loadReleaseContext(tx, blobs, release, channel, at, inputs, rows, read);
      return answers.length === 0 ? loaded : { ...loaded, prometheus: answers };
    };
    // Decided first without the channel lock: a tick that changes nothing (most of them) never
    // holds the lock an operator's command waits for. What changes something is decided again
    // below, locked; a change this unlocked read missed wakes the controller when it commits.
    const unlocked = await stores.releases.find(id);
    if (unlocked === null || isTerminal(unlocked.release.state)) {
      return { decisions: 0, indexes: 0 };
    }
    const where = { env: unlocked.release.env, name: unlocked.release.channel };
    // Each decision's time is read holding the channel's kept inputs, no earlier than they were
    // last read (a command or a status read may have read them since this tick read the clock),
    // so that a decision never asks them for an older window: that reads it again from the
    // database and rebuilds its stage rollup.
    const changes = await inputs.hold(where, async () => {
      const current = await stores.channels.find(where.env, where.name);
      if (current === null) return false;
      const at = inputs.notBefore(current, now);
      const context = await contextOf(stores, unlocked.release, current, at);
      return decide(context, at).decisions.length > 0;
    });
    if (!changes) return { decisions: 0, indexes: 0 };
    // the kept inputs held before the transaction opens (ReleaseInputs.hold)
    const committed = await inputs.hold(where, () =>
      stores.transaction(async (tx) => {
        if (!(await lease.stillHeld(tx, now))) return null;
        // (a release never moves: its channel is the one read without the lock)
        const locked = await lockAndReadRelease(tx, id, where, unlocked.release.pack, inputs);
        if (locked === null) return null;
        const { channel, stored, rows, read } = locked;
        const at = inputs.notBefore(channel, now);
        if (stored === null || isTerminal(stored.release.state)) return null;
        const context = await contextOf(tx, stored.release, channel, at, rows, read);
        const result = decide(context, at);
        const change = await commitReleaseChange(tx, stored.release, result, {
          channel,
          now: at,
          holder,
          key,
          context,
          rows,
        });
        return change === null ? null : { change, channel };
      }),
    );
    if (committed === null) return { decisions: 0, indexes: 0 };
    const { change, channel } = committed;
    const indexes = change.index === null ? 0 : publish([{ key: channel, index: change.index }]);
    return { decisions: change.records.length, indexes };
  };

  const lapsePins = async (
    now: Date,
    key: IndexSigningKey,
  ): Promise<{ decisions: number; indexes: number }> => {
    const expired = await stores.channels.listExpiredPins(now.toISOString());
    const channels = new Map<string, ChannelKey>();
    for (const pin of expired) {
      channels.set(`${pin.env}/${pin.channel}`, { env: pin.env, name: pin.channel });
    }
    let decisions = 0;
    let indexes = 0;
    for (const where of channels.values()) {
      const committed = await onChannel(where, now, key, () => ({ kind: 'pins.lapse' }));
      if (committed === null) continue;
      decisions += committed.records.length;
      if (committed.index !== null) {
        indexes += publish([{ key: committed.channel, index: committed.index }]);
      }
    }
    return { decisions, indexes };
  };

  const refreshIndexes = async (now: Date, key: IndexSigningKey): Promise<number> => {
    const due = (expiresAt: string, ttlSeconds: number): boolean =>
      Date.parse(expiresAt) - now.getTime() < (ttlSeconds * 1000) / 2;
    let indexes = 0;
    for (const listed of await stores.channels.list()) {
      if (!due(listed.indexExpiresAt, listed.indexTtlSeconds)) continue;
      const committed = await onChannel(listed, now, key, (_state, channel) =>
        due(channel.indexExpiresAt, channel.indexTtlSeconds) ? { kind: 'index.refresh' } : null,
      );
      if (committed?.index != null) {
        indexes += publish([{ key: committed.channel, index: committed.index }]);
      }
    }
    return indexes;
  };

  /**
   * One controller decision on a channel, on the commit road: in one transaction, while the
   * lease is held, with the channel locked (nothing when it is gone or `decideFn` returns null).
   */
  const onChannel = (
    where: ChannelKey,
    now: Date,
    key: IndexSigningKey,
    eventOf: (state: ChannelState, channel: StoredChannel) => ChannelEvent | null,
  ) =>
    stores.transaction(async (tx) => {
      if (!(await lease.stillHeld(tx, now))) return null;
      const channel = await tx.channels.lock(where.env, where.name);
      if (channel === null) return null;
      return commitLockedChannel(tx, channel, { now, key, holder }, (state, locked) => {
        const event = eventOf(state, locked);
        return event === null
          ? null
          : { call: channelCall({ fn: 'decideChannel', state, event }, now), value: null };
      });
    });

  const prune = async (now: Date): Promise<void> => {
    const before = (seconds: number): string =>
      new Date(now.getTime() - seconds * 1000).toISOString();
    // Reports a live release still reads are kept however old (a compare stage soaking days).
    let keepFromMs = now.getTime() - REPORT_RETENTION_SECONDS * 1000;
    for (const id of await stores.releases.listActiveIds()) {
      const stored = await stores.releases.find(id);
      if (stored === null || isTerminal(stored.release.state)) continue;
      keepFromMs = Math.min(keepFromMs, reportWindowStartMs(stored.release, now));
    }
    await stores.targets.pruneReports(new Date(keepFromMs).toISOString());
    await stores.idempotency.prune(before(IDEMPOTENCY_RETENTION_SECONDS));
  };

  const tick = async (): Promise<TickResult> => {
    const started = performance.now();
    const result = await tickOnce();
    deps.onTick?.(result, (performance.now() - started) / 1000);
    return result;
  };

  const tickOnce = async (): Promise<TickResult> => {
    const now = clock();
    const result: TickResult = { leader: false, decisions: 0, indexes: 0, failures: 0 };
    if (!(await lease.acquire(now))) return result;
    result.leader = true;
    const key = await keys.indexKey();
    for (const id of await stores.releases.listActiveIds()) {
      try {
        const done = await reconcile(id, now, key);
        result.decisions += done.decisions;
        result.indexes += done.indexes;
      } catch (error) {
        result.failures += 1;
        onError(error, { release: id });
      }
    }
    const steps: [string, () => Promise<void>][] = [
      [
        'pins',
        async () => {
          const done = await lapsePins(now, key);
          result.decisions += done.decisions;
          result.indexes += done.indexes;
        },
      ],
      [
        'indexes',
        async () => {
          result.indexes += await refreshIndexes(now, key);
        },
      ],
      ['prune', () => prune(now)],
    ];
    for (const [step, run] of steps) {
      try {
        await run();
      } catch (error) {
        onError(error, { step });
      }
    }
    return result;
  };

  // The loop: one tick at a time; wake() brings the next one forward, but never sooner than the
  // last tick took after it ended: ticks hold the event loop at most half the time, so check-ins,
  // reports and operator commands are answered however often reports wake the controller.
  let started = false;
  let timer: NodeJS.Timeout | null = null;
  let timerDueAt = 0;
  let notBefore = 0;
  let running: Promise<void> | null = null;
  let rerun = false;

  const schedule = (delayMs: number): void => {
    if (!started) return;
    // one clock reading: a second, later one made a due-now delay negative (a process warning)
    const nowMs = performance.now();
    const dueAt = Math.max(nowMs + delayMs, notBefore);
    if (timer !== null && timerDueAt <= dueAt) return;
    if (timer !== null) clearTimeout(timer);
    timerDueAt = dueAt;
    timer = setTimeout(run, Math.max(0, dueAt - nowMs));
  };

  const run = (): void => {
    timer = null;
    if (running !== null) {
      rerun = true;
      return;
    }
    const startedAt = performance.now();
    running = tick()
      .then(
        () => undefined,
        (error: unknown) => onError(error, { step: 'tick' }),
      )
      .finally(() => {
        running = null;
        const endedAt = performance.now();
        notBefore = endedAt + (endedAt - startedAt);
        const soon = rerun;
        rerun = false;
        schedule(soon ? Math.min(WAKE_DEBOUNCE_MS, intervalMs) : intervalMs);
      });
  };

  let stopping: Promise<void> | null = null;

  return {
    holder,
    tick,
    start() {
      if (started || stopping !== null) return;
      started = true;
      schedule(0);
    },
    wake() {
      schedule(Math.min(WAKE_DEBOUNCE_MS, intervalMs));
    },
    stop() {
      stopping ??= (async () => {
        started = false;
        if (timer !== null) clearTimeout(timer);
        timer = null;
        await running;
        await lease.release();
      })();
      return stopping;
    },
  };
}
