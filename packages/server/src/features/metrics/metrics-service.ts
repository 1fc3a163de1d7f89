/**
 * The numbers behind `/metrics`. Three sources, each read the way it can be trusted:
 * - the decision log, followed by seq (append-only, so counters derived from it never go back;
 *   a restarted server replays it from the start): decisions, rollbacks by trigger, flapping,
 *   stage durations, and the rollbacks whose time to restore is being watched;
 * - target reports as they arrive (each attempt counted once: when it differs from the one the
 *   target reported before): verifications, activations, reverts, fetch failures, cache
 *   corruption, time to activate;
 * - the database at scrape time for gauges: releases by state, channel index versions and
 *   expiry, drift and silent targets per channel, the decision log size and the age and size of
 *   its latest signed checkpoint. The fleet is read as
 *   counts by channel and active pack (one GROUP BY); a channel's targets are read one by one
 *   only when its index gives them different packs (core uniformDesiredPack is null).
 * Multi-replica servers each count what they received; sum them in PromQL.
 */
import { desiredPack, ERROR_CODES, RELEASE_STATES, uniformDesiredPack } from '@lockgate/core';
import type { ErrorBudget, TargetAttempt } from '@lockgate/core';
import type { Clock } from '../../clock.ts';
import type { StoresOf } from '../../stores.ts';
import { indexPayloadOf } from '../channels/public.ts';
import type { ChannelKey } from '../channels/public.ts';
import type { TickResult } from '../controller/public.ts';
import type { DecisionRecord } from '../decisions/public.ts';
import { createLockgateMetrics } from './lockgate-metrics.ts';
import type { LockgateMetrics } from './lockgate-metrics.ts';
import type { ActivePackCount } from '../targets/public.ts';
import { availabilityEvent } from '../operations/public.ts';
import type { SliCounts } from '../operations/public.ts';

/** A second rollback of a channel within this many seconds of the first is a flap. */
export const FLAP_WINDOW_SECONDS = 3600;
/** A target silent this long counts in lockgate_channel_silent_targets. */
export const SILENT_AFTER_SECONDS = 300;
/** Rollbacks older than this when first seen (a replayed log) are not watched for restore. */
const RESTORE_WATCH_SECONDS = 3600;
const DECISION_PAGE = 1000;
/** Activations waiting to be timed (lockgate_time_to_activate) beyond which they go untimed. */
const MAX_UNTIMED_ACTIVATIONS = 100_000;

/** Codes agents send that are not core error codes (packages/agent/src/agent-codes.ts). */
const AGENT_CODES = new Set([
  'HEALTH_CHECK_FAILED',
  'TRIAL_INTERRUPTED',
  'ACTIVATION_FAILED',
  'SERVER_UNREACHABLE',
  'CACHE_FULL',
  'STATE_INVALID',
  'INDEX_TOO_LARGE',
  'EVENT_TOO_LARGE',
]);

/** Verification codes of a pack that did not arrive intact. */
const FETCH_CODES = new Set([
  'PACK_DIGEST_MISMATCH',
  'PACK_ARCHIVE_INVALID',
  'PACK_ARCHIVE_TOO_LARGE',
  'PACK_NOT_FOUND',
  'PACK_FILE_MISSING',
  'PACK_FILE_HASH_MISMATCH',
  'PACK_FILE_UNLISTED',
  'SERVER_UNREACHABLE',
  'CACHE_FULL',
]);

/** A report as the target service received it. */
export interface ObservedReport {
  env: string;
  channel: string;
  /** the attempt the target reported before this report */
  previous: TargetAttempt | null;
  activePack: string | null;
  attempt?: TargetAttempt;
}

export interface MetricsService {
  readonly contentType: string;
  /** The exposition text, after reading the decision log and the gauges' sources. */
  render(): Promise<string>;
  observeReport(report: ObservedReport): void;
  observeTick(result: TickResult, seconds: number): void;
  /** A read of a channel's whole gate window for the kept release inputs (release-inputs.ts). */
  observeWindowRead(channel: ChannelKey, reports: number): void;
  observeHttp(method: string, route: string, status: number, seconds: number): void;
  /**
   * The availability SLO's events this process answered since the last take (then zeroed): the
   * error budget policy adds them to the shared samples.
   */
  takeAvailability(): SliCounts;
  /** What the error budget policy found at its last run (only when it runs). */
  observeErrorBudget(slo: string, budget: ErrorBudget): void;
}

/** A code as a label value: a known code, `OK` for none, `OTHER` for anything else. */
export function codeLabel(code: string | undefined): string {
  if (code === undefined) return 'OK';
  return Object.hasOwn(ERROR_CODES, code) || AGENT_CODES.has(code) ? code : 'OTHER';
}

function sum<T>(items: readonly T[], of: (item: T) => number): number {
  return items.reduce((total, item) => total + of(item), 0);
}

function sameAttempt(a: TargetAttempt | null, b: TargetAttempt): boolean {
  return (
    a !== null &&
    a.at === b.at &&
    a.kind === b.kind &&
    a.pack === b.pack &&
    a.result === b.result &&
    a.code === b.code
  );
}

export function createMetricsService(deps: {
  stores: StoresOf<'metrics' | 'decisions' | 'channels' | 'releases' | 'targets'>;
  clock: Clock;
  /** errors of background work (a lookup for time to activate); logged by the server */
  onError?: (error: unknown) => void;
}): MetricsService {
  const { stores, clock } = deps;
  const onError = deps.onError ?? (() => undefined);
  const m: LockgateMetrics = createLockgateMetrics();
  let cursor = 0;
  const lastRollback = new Map<string, number>();
  /** channel key → when its rollback happened (ms), while the fleet is not back */
  const restoring = new Map<string, number>();
  let lastTickEnd: number | null = null;
  let refreshing: Promise<void> = Promise.resolve();
  let availability: SliCounts = { good: 0, total: 0 };

  const keyOf = (env: string | null, channel: string | null): string => `${env}/${channel}`;

  const follow = (record: DecisionRecord, nowMs: number): void => {
    m.decisions.inc({ kind: record.kind, rule: record.rule, verdict: record.verdict });
    const elapsed = record.inputs['elapsedSeconds'];
    if (
      typeof elapsed === 'number' &&
      (record.rule === 'stage.soak_complete' || record.to === 'rolled_back')
    ) {
      m.stageDuration.observe({ outcome: record.verdict }, elapsed);
    }
    if (record.to !== 'rolled_back') return;
    m.rollbacks.inc({ trigger: record.rule });
    const key = keyOf(record.env, record.channel);
    const at = Date.parse(record.at);
    const previous = lastRollback.get(key);
    if (previous !== undefined && at - previous <= FLAP_WINDOW_SECONDS * 1000) {
      m.rollbackFlaps.inc();
    }
    lastRollback.set(key, at);
    if (nowMs - at <= RESTORE_WATCH_SECONDS * 1000) restoring.set(key, at);
  };

  const checkRestores = (
    bases: Map<string, string | null>,
    fleet: Map<string, ActivePackCount[]>,
  ): void => {
    for (const [key, at] of restoring) {
      const base = bases.get(key);
      const groups = fleet.get(key) ?? [];
      if (base === undefined || base === null || groups.length === 0) {
        restoring.delete(key);
        continue;
      }
      if (!groups.every((g) => g.activePack === base)) continue;
      const last = Math.max(...groups.map((g) => Date.parse(g.lastReportAt ?? '') || at));
      m.timeToRestore.observe(Math.max(0, (last - at) / 1000));
      restoring.delete(key);
    }
  };

  const refresh = async (): Promise<void> => {
    const now = clock();
    const nowMs = now.getTime();
    for (;;) {
      const page = await stores.decisions.list({ afterSeq: cursor, limit: DECISION_PAGE });
      for (const record of page) {
        follow(record, nowMs);
        cursor = record.seq;
      }
      if (page.length < DECISION_PAGE) break;
    }
    m.decisionLogRecords.set(await stores.metrics.decisionLogSize());
    const checkpoint = await stores.metrics.checkpointState();
    const since = checkpoint.signedAt ?? checkpoint.firstRecordAt;
    m.logCheckpointRecords.set(checkpoint.size);
    m.logCheckpointAge.set(since === null ? 0 : Math.max(0, (nowMs - Date.parse(since)) / 1000));

    const byState = await stores.metrics.releasesByState();
    for (const state of RELEASE_STATES) m.releases.set({ state }, byState.get(state) ?? 0);
    m.releaseSinceChange.reset();
    for (const live of await stores.metrics.liveReleaseChanges()) {
      const seconds = Math.max(0, (nowMs - Date.parse(live.updatedAt)) / 1000);
      const labels = { state: live.state };
      const current = (await m.releaseSinceChange.get()).values.find(
        (v) => v.labels.state === live.state,
      );
      if (current === undefined || current.value < seconds)
        m.releaseSinceChange.set(labels, seconds);
    }

    const silentBefore = new Date(nowMs - SILENT_AFTER_SECONDS * 1000).toISOString();
    const fleet = new Map<string, ActivePackCount[]>();
    for (const group of await stores.targets.activePackCounts(silentBefore)) {
      const key = keyOf(group.env, group.channel);
      const list = fleet.get(key) ?? [];
      list.push(group);
      fleet.set(key, list);
    }
    const bases = new Map<string, string | null>();
    for (const gauge of [
      m.indexVersion,
      m.indexExpiry,
      m.channelTargets,
      m.channelDrift,
      m.channelSilent,
    ]) {
      gauge.reset();
    }
    for (const channel of await stores.channels.list()) {
      const labels = { env: channel.env, channel: channel.name };
      const key = keyOf(channel.env, channel.name);
      bases.set(key, channel.base);
      m.indexVersion.set(labels, channel.indexVersion);
      m.indexExpiry.set(labels, (Date.parse(channel.indexExpiresAt) - nowMs) / 1000);
      const groups = fleet.get(key) ?? [];
      let drift = 0;
      if (groups.length > 0) {
        const payload = indexPayloadOf(channel.indexEnvelope);
        const uniform = uniformDesiredPack(payload, now);
        if (uniform !== null) {
          for (const group of groups) {
            if (uniform.pack !== null && uniform.pack !== group.activePack) drift += group.targets;
          }
        } else {
          for (const target of await stores.metrics.channelFleet(channel.env, channel.name)) {
            const want = desiredPack(payload, target, now).pack;
            if (want !== null && want !== target.activePack) drift += 1;
          }
        }
      }
      m.channelTargets.set(
        labels,
        sum(groups, (g) => g.targets),
      );
      m.channelDrift.set(labels, drift);
      m.channelSilent.set(
        labels,
        sum(groups, (g) => g.silent),
      );
    }
    checkRestores(bases, fleet);
    if (lastTickEnd !== null) m.controllerLag.set(Math.max(0, (nowMs - lastTickEnd) / 1000));
  };

  // Activations wait here to be timed against their channel's rolling stage: a batch at a time,
  // one read of each channel (and its release) per batch, so a fleet activating at once costs a
  // few reads rather than two per report; bounded (beyond it, activations go untimed).
  let activations: { report: ObservedReport; attempt: TargetAttempt }[] = [];
  let timing = false;
  const timeActivations = async (): Promise<void> => {
    try {
      while (activations.length > 0) {
        const batch = activations;
        activations = [];
        const byChannel = new Map<string, typeof batch>();
        for (const item of batch) {
          const key = keyOf(item.report.env, item.report.channel);
          const list = byChannel.get(key);
          if (list === undefined) byChannel.set(key, [item]);
          else list.push(item);
        }
        for (const items of byChannel.values()) {
          const { env, channel: name } = (items[0] as (typeof batch)[number]).report;
          const channel = await stores.channels.find(env, name);
          if (channel === null || channel.activeRelease === null) continue;
          const stored = await stores.releases.find(channel.activeRelease);
          const started = stored?.release.stageStartedAt ?? null;
          if (stored === null || started === null) continue;
          for (const { attempt } of items) {
            if (stored.release.pack !== attempt.pack) continue;
            const seconds = (Date.parse(attempt.at) - Date.parse(started)) / 1000;
            if (Number.isFinite(seconds) && seconds >= 0) m.timeToActivate.observe(seconds);
          }
        }
      }
    } finally {
      // at once when the last batch is done: an activation pushed after it starts a new run
      timing = false;
    }
  };
  const timeToActivate = (report: ObservedReport, attempt: TargetAttempt): void => {
    if (activations.length >= MAX_UNTIMED_ACTIVATIONS) return;
    activations.push({ report, attempt });
    if (timing) return;
    timing = true;
    timeActivations().catch((error: unknown) => {
      activations = [];
      onError(error);
    });
  };

  return {
    contentType: m.registry.contentType,
    async render() {
      const run = refreshing.then(refresh);
      refreshing = run.catch(() => undefined);
      await run;
      return m.registry.metrics();
    },
    observeReport(report) {
      m.agentReports.inc();
      const attempt = report.attempt;
      if (attempt === undefined || sameAttempt(report.previous, attempt)) return;
      const labels = { result: attempt.result, code: codeLabel(attempt.code) };
      switch (attempt.kind) {
        case 'verify':
          m.agentVerifications.inc(labels);
          if (attempt.pack === report.activePack && attempt.code !== undefined) {
            m.cacheCorruptions.inc({ code: labels.code });
          } else if (attempt.result === 'failed' && FETCH_CODES.has(labels.code)) {
            m.fetchFailures.inc({ code: labels.code });
          }
          return;
        case 'activate':
          m.agentActivations.inc(labels);
          if (attempt.result === 'ok') timeToActivate(report, attempt);
          return;
        case 'revert':
          m.agentReverts.inc(labels);
          return;
      }
    },
    observeTick(result, seconds) {
      m.tickDuration.observe(seconds);
      m.leader.set(result.leader ? 1 : 0);
      m.tickFailures.inc(result.failures);
      lastTickEnd = clock().getTime();
      m.lastTick.set(lastTickEnd / 1000);
      m.controllerLag.set(0);
    },
    observeWindowRead({ env, name }, reports) {
      m.windowReads.inc({ env, channel: name });
      m.windowReadReports.inc({ env, channel: name }, reports);
    },
    observeHttp(method, route, status, seconds) {
      m.httpRequests.inc({ method, route, status_code: String(status) });
      m.httpDuration.observe({ method, route }, seconds);
      const event = availabilityEvent(method, route, status, seconds);
      if (event !== null) {
        availability.total += 1;
        if (event === 'good') availability.good += 1;
      }
    },
    observeErrorBudget(slo, budget) {
      m.errorBudgetEvents.set({ slo, kind: 'good' }, budget.good);
      m.errorBudgetEvents.set({ slo, kind: 'total' }, budget.total);
      if (budget.remaining === null) m.errorBudgetRemaining.remove({ slo });
      else m.errorBudgetRemaining.set({ slo }, budget.remaining);
    },
    takeAvailability() {
      const taken = availability;
      availability = { good: 0, total: 0 };
      return taken;
    },
  };
}
