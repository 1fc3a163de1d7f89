/**
 * What the controller's ticks keep between them so that a tick with nothing new reads almost
 * nothing: per channel, its targets (id and labels) and the stage membership of the rolling
 * release, and the channel's reports of the gate window in memory, read on by report number.
 *
 * Invariants (each tick's context is the one `loadReleaseContext` would load without this):
 * - Targets are re-read when the channel's targets generation (migration 0009, bumped in the
 *   transaction of every upsert of one of its targets, by any replica) is not the one they were
 *   read at.
 * - Stage targets (core desiredPack on the index is the release's pack) are recomputed when the
 *   targets, the index version or the pack change, when the clock goes back, or when `now`
 *   reaches the first pin or rollback authorization expiry of the index after the time they
 *   were computed at (core desiredPackStableUntil: desiredPack reads `now` only through those).
 * - Reports: every report with `at >= loadedFrom` and a number up to `seq` is held; a tick reads
 *   the reports numbered after `seq` (a batch takes its numbers with its channel's counter row
 *   locked until commit, so no smaller number can still appear; the first page comes with the
 *   targets generation, in one statement on PostgreSQL), and a tick that needs reports
 *   older than `loadedFrom` reads the window again. What a tick gets is filtered to
 *   `from <= at <= to` and ordered by (at, id), as the store's listReports.
 * - Reports this replica committed (`offer`, after the commit, with their numbers) are taken
 *   instead of read while they run on from `seq` without a gap; a number missing (another
 *   replica's report) and the catch-up reads on from the last number it holds, as without them.
 *   At most CATCH_UP_ROWS wait per channel, and only for a channel whose reports are held.
 * - Stage rollup (core stage-rollup.ts): per channel, the rolling release's stage measured from
 *   a rollup of the held reports of its stage targets, for its pack and its plan's health gates.
 *   It is rebuilt from the held reports when any of those changes, when the held reports are
 *   read again or when a tick asks for older reports or an earlier `now` than the last; else a
 *   tick adds only the reports caught up since the last one (those made after `now` wait until
 *   `now` reaches them). Core measureStage gives exactly what the gates would compute on the
 *   reports, or null (the caller then decides on the reports).
 * - Memory: reports older than what the last tick needed are dropped; a channel that no live
 *   release read for an hour is forgotten.
 * - Calls for one channel run one at a time (the controller, operator commands and status reads
 *   share them): a catch-up reads on from the report number the previous one left.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  addReports,
  desiredPack,
  desiredPackStableUntil,
  emptyRollup,
  expireRollup,
  measureStage,
  planHealthWindows,
  rollupReportOf,
} from '@lockgate/core';
import type {
  ChannelIndexPayload,
  Labels,
  Plan,
  RollupReport,
  StageMeasures,
  StageRollup,
  TargetReport,
} from '@lockgate/core';
import { createKeyedMutex } from '../../keyed-mutex.ts';
import type { StoresOf } from '../../stores.ts';
import type { ChannelKey, StoredChannel } from '../channels/public.ts';
import type { NumberedReport } from '../targets/public.ts';
import type { ReadPart } from '../../db/statement-parts.ts';

/** The stores this module uses, and no others. */
type UsedStores = StoresOf<'statements' | 'targets'>;

/** Reports read on per query when catching up (the rest comes with the next query). */
const CATCH_UP_ROWS = 50_000;
/** A channel no tick asked about for this long is dropped from memory. */
const IDLE_MS = 3_600_000;

interface ChannelEntry {
  usedAt: number;
  /** the latest `now` (ms) a call for the channel was served at */
  latestMs: number;
  generation: number | null;
  targets: { id: string; labels: Labels }[];
  stage: {
    generation: number;
    indexVersion: number;
    pack: string;
    computedAt: number;
    validUntil: number;
    ids: string[];
  } | null;
  reports: {
    loadedFrom: string;
    seq: number;
    /** ordered by (at, id) */
    items: RollupReport[];
    /** caught up since the stage rollup last took them */
    fresh: RollupReport[];
  } | null;
  rollup: {
    release: string;
    pack: string;
    /** the stage targets it was built for (the same array while they are unchanged) */
    members: readonly string[];
    windows: string;
    /** the `to` of the last tick that read it */
    to: string;
    rollup: StageRollup;
    /** held reports made after `to`, not added yet */
    pending: RollupReport[];
  } | null;
  /**
   * The reports numbered after `afterSeq`, read with the targets generation at the start of a
   * load (one statement on PostgreSQL, or the caller's own through `firstReads`) for that load's
   * catch-up; replaced by each load's read of the generation, taken by the first catch-up after
   * it from the same number.
   */
  prefetched: { afterSeq: number; page: NumberedReport[] } | null;
  /**
   * The targets generation read by a holder's `firstReads` (`holder`: its holding set), taken
   * by that holder's next load.
   */
  early: { holder: ReadonlySet<string>; targetsGeneration: number } | null;
  /** reports this replica committed after those held, numbered one after another (`offer`) */
  offered: (NumberedReport & { seq: number })[];
}

/** A report as committed (the report queue's batch), with its number in its channel. */
export interface OfferedReport {
  report: TargetReport & { id: string; env: string; channel: string };
  seq: number;
}

export interface ReleaseInputs {
  /** The channel's targets, read again only when their generation moved. */
  targets(tx: UsedStores, channel: StoredChannel): Promise<{ id: string; labels: Labels }[]>;
  /**
   * The channel's targets whose desiredPack on `index` at `now` is `pack`. `targets`: what
   * `targets` just answered for this load (their generation is not read again), or null.
   */
  stageTargets(
    tx: UsedStores,
    channel: StoredChannel,
    targets: readonly { id: string; labels: Labels }[] | null,
    index: ChannelIndexPayload,
    pack: string,
    now: Date,
  ): Promise<string[]>;
  /** The channel's reports with from ≤ at ≤ to, oldest first (as listReports). */
  reports(
    tx: UsedStores,
    channel: StoredChannel,
    from: string,
    to: string,
  ): Promise<TargetReport[]>;
  /**
   * The stage of a rolling release measured at `to` from its stage targets' reports with
   * from ≤ at ≤ to (core measureStage on the kept rollup); null when they cannot stand for the
   * reports exactly.
   */
  measures(
    tx: UsedStores,
    channel: StoredChannel,
    stage: { release: string; pack: string; plan: Plan; stageTargets: readonly string[] },
    from: string,
    to: string,
  ): Promise<StageMeasures | null>;
  /**
   * `now`, or the latest time a call for the channel was served at when that is later. A load
   * at an earlier time than the one before it (a command or a status read whose clock was read
   * before a tick's, a tick whose clock was read before a command's) reads the gate window
   * again and rebuilds the stage rollup (`onWindowRead`); a load at this time reads on from the
   * last. Read it holding the channel's inputs (`hold`), so no other call moves that time on
   * between the reading and the load.
   */
  notBefore(channel: StoredChannel, now: Date): Date;
  /**
   * Runs `task` holding the channel's inputs: the calls above for the channel made by the task
   * (one at a time) go through, every other caller's wait until it ends. A caller that uses them
   * in a transaction holds them first, then opens it: taken the other way round (a transaction
   * open, then waiting for a caller that holds the inputs and waits for a connection) the two
   * would wait on each other for ever where connections are few (SQLite has one).
   */
  hold<T>(channel: ChannelKey, task: () => Promise<T>): Promise<T>;
  /**
   * What the channel's next load reads first (its targets generation, and the reports numbered
   * after those held) as parts for the caller to join to its own statement, and `keep` for
   * their rows: the next load by the same holder takes them instead of reading, once. A caller
   * that does not hold the channel (`hold`) gets no parts.
   */
  firstReads(tx: UsedStores, channel: ChannelKey): FirstReads;
  /**
   * Reports this replica committed, in the order of their numbers per channel: the next
   * catch-up of their channel takes them rather than reading them (see the invariants).
   */
  offer(reports: readonly OfferedReport[]): void;
}

/** See ReleaseInputs.firstReads. */
export interface FirstReads {
  parts: ReadPart<unknown>[];
  /** the parts' rows, decoded, in their order */
  keep(decoded: readonly unknown[]): void;
}

/** `task` run holding the channel's inputs (ReleaseInputs.hold), or as it is without them. */
export function withInputsHeld<T>(
  inputs: ReleaseInputs | undefined,
  channel: ChannelKey,
  task: () => Promise<T>,
): Promise<T> {
  return inputs === undefined ? task() : inputs.hold(channel, task);
}

export interface ReleaseInputsOptions {
  /**
   * Told each time a channel's whole gate window is read from the database: its first load,
   * then only when a call asks for reports older than those held (a metric: each read costs
   * the window's reports, and rebuilds the stage rollup).
   */
  onWindowRead?: (channel: ChannelKey, reports: number) => void;
}

export function createReleaseInputs(options: ReleaseInputsOptions = {}): ReleaseInputs {
  const channels = new Map<string, ChannelEntry>();
  // One call at a time per channel: the controller, operator commands and status reads share
  // the entry, and two catch-ups from the same report number would hold a report twice.
  const serial = createKeyedMutex();
  /** the channels the current async context holds */
  const holding = new AsyncLocalStorage<ReadonlySet<string>>();
  const oneAtATime = <T>(channel: ChannelKey, task: () => Promise<T>): Promise<T> => {
    const key = `${channel.env}\n${channel.name}`;
    const held = holding.getStore();
    if (held?.has(key) === true) return task();
    return serial.run(key, () => holding.run(new Set([...(held ?? []), key]), task));
  };

  const entryOf = (channel: { env: string; name: string }): ChannelEntry => {
    const key = `${channel.env}\n${channel.name}`;
    const nowMs = performance.now();
    for (const [other, entry] of channels) {
      if (other !== key && nowMs - entry.usedAt > IDLE_MS) channels.delete(other);
    }
    let entry = channels.get(key);
    if (entry === undefined) {
      entry = {
        usedAt: nowMs,
        latestMs: Number.NEGATIVE_INFINITY,
        generation: null,
        targets: [],
        stage: null,
        reports: null,
        rollup: null,
        prefetched: null,
        early: null,
        offered: [],
      };
      channels.set(key, entry);
    }
    entry.usedAt = nowMs;
    return entry;
  };

  /**
   * What a load reads first: the channel's targets generation and, with reports held, the
   * reports numbered since them (one statement on PostgreSQL); `take` keeps the page for the
   * load's catch-up and gives the generation.
   */
  const firstReadsOf = (
    tx: UsedStores,
    channel: { env: string; name: string },
    entry: ChannelEntry,
  ): { parts: ReadPart<unknown>[]; take(decoded: readonly unknown[]): number } => {
    // after the reports offered, which the load's catch-up takes (takeOffered)
    const afterSeq = entry.reports === null ? null : offeredEnd(entry, entry.reports.seq);
    const parts: ReadPart<unknown>[] = [tx.targets.channelCountersPart(channel.env, channel.name)];
    if (afterSeq !== null) {
      parts.push(tx.targets.reportsAfterPart(channel.env, channel.name, afterSeq, CATCH_UP_ROWS));
    }
    return {
      parts,
      take: ([read, page]) => {
        entry.prefetched = afterSeq === null ? null : { afterSeq, page: page as NumberedReport[] };
        return (read as { targetsGeneration: number }).targetsGeneration;
      },
    };
  };

  const targetsOf = async (
    tx: UsedStores,
    channel: StoredChannel,
    entry: ChannelEntry,
  ): Promise<number> => {
    // a load that reads its targets reads its reports next (loadReleaseContext): they come in
    // one statement, read here or by the holder's firstReads
    const early = entry.early;
    entry.early = null;
    let targetsGeneration: number;
    if (early !== null && early.holder === holding.getStore()) {
      ({ targetsGeneration } = early);
    } else {
      const first = firstReadsOf(tx, channel, entry);
      targetsGeneration = first.take(await tx.statements.read(first.parts));
    }
    if (entry.generation !== targetsGeneration) {
      entry.targets = await tx.targets.listRefs(channel.env, channel.name);
      entry.generation = targetsGeneration;
      entry.stage = null;
    }
    return targetsGeneration;
  };

  /**
   * The channel's held reports caught up to the last numbered report, holding every report with
   * at ≥ `from`; `fresh` collects what was caught up since the rollup last took it.
   */
  const catchUp = async (
    tx: UsedStores,
    channel: StoredChannel,
    entry: ChannelEntry,
    from: string,
  ): Promise<NonNullable<ChannelEntry['reports']>> => {
    let held = entry.reports;
    if (held === null || from < held.loadedFrom) {
      const { reportSeq } = await tx.targets.channelCounters(channel.env, channel.name);
      const items = await tx.targets.reportsUpTo(channel.env, channel.name, from, reportSeq);
      options.onWindowRead?.({ env: channel.env, name: channel.name }, items.length);
      held = {
        loadedFrom: from,
        seq: reportSeq,
        items: items.map((item) => rollupReportOf(item.id, item.report)),
        fresh: [],
      };
      entry.reports = held;
      entry.prefetched = null;
      entry.rollup = null;
      return held;
    }
    const added: RollupReport[] = [];
    const hold = (items: readonly NumberedReport[]): void => {
      for (const item of items) {
        if (item.seq !== null) held.seq = Math.max(held.seq, item.seq);
        if (item.report.at < held.loadedFrom) continue;
        const kept = rollupReportOf(item.id, item.report);
        added.push(kept);
        held.fresh.push(kept);
      }
    };
    const prefetched = entry.prefetched;
    entry.prefetched = null;
    // the reports offered up to where the load's first read began (all of them without one)
    hold(takeOffered(entry, held.seq, prefetched?.afterSeq ?? Number.POSITIVE_INFINITY));
    let page = prefetched !== null && prefetched.afterSeq === held.seq ? prefetched.page : null;
    for (;;) {
      const fresh =
        page ?? (await tx.targets.reportsAfter(channel.env, channel.name, held.seq, CATCH_UP_ROWS));
      page = null;
      hold(fresh);
      if (fresh.length < CATCH_UP_ROWS) break;
    }
    mergeInto(held.items, added);
    // What this tick no longer needs goes: ticks only move forward in time.
    const firstKept = firstAtOrAfter(held.items, from);
    if (firstKept > 0) held.items = held.items.slice(firstKept);
    held.loadedFrom = from;
    return held;
  };

  return {
    targets(tx, channel) {
      return oneAtATime(channel, async () => {
        const entry = entryOf(channel);
        await targetsOf(tx, channel, entry);
        return entry.targets;
      });
    },

    stageTargets(tx, channel, targets, index, pack, now) {
      return oneAtATime(channel, async () => {
        const entry = entryOf(channel);
        const generation =
          targets !== null && targets === entry.targets && entry.generation !== null
            ? entry.generation
            : await targetsOf(tx, channel, entry);
        const nowMs = now.getTime();
        const stage = entry.stage;
        if (
          stage !== null &&
          stage.generation === generation &&
          stage.indexVersion === channel.indexVersion &&
          stage.pack === pack &&
          nowMs >= stage.computedAt &&
          nowMs < stage.validUntil
        ) {
          return stage.ids;
        }
        const computed = entry.targets
          .filter((target) => desiredPack(index, target, now).pack === pack)
          .map((target) => target.id);
        // the same members keep the same array, so the stage rollup built for them is kept
        const ids = stage !== null && sameIds(stage.ids, computed) ? stage.ids : computed;
        entry.stage = {
          generation,
          indexVersion: channel.indexVersion,
          pack,
          computedAt: nowMs,
          validUntil: desiredPackStableUntil(index, now),
          ids,
        };
        return ids;
      });
    },

    hold: (channel, task) => oneAtATime(channel, task),

    offer(reports) {
      for (const { report, seq } of reports) {
        const entry = channels.get(`${report.env}\n${report.channel}`);
        if (entry === undefined || entry.reports === null) continue;
        const last = entry.offered.at(-1)?.seq ?? entry.reports.seq;
        // taken only on from what is held, without a gap; the rest is read
        if (seq !== last + 1 || entry.offered.length >= CATCH_UP_ROWS) continue;
        entry.offered.push({ seq, id: report.id, report: asStored(report) });
      }
    },

    firstReads(tx, channel) {
      const holder = holding.getStore();
      if (holder?.has(`${channel.env}\n${channel.name}`) !== true) {
        return { parts: [], keep: () => undefined };
      }
      const entry = entryOf(channel);
      const first = firstReadsOf(tx, channel, entry);
      return {
        parts: first.parts,
        keep: (decoded) => {
          entry.early = { holder, targetsGeneration: first.take(decoded) };
        },
      };
    },

    notBefore(channel, now) {
      const latestMs = channels.get(`${channel.env}\n${channel.name}`)?.latestMs;
      return latestMs !== undefined && latestMs > now.getTime() ? new Date(latestMs) : now;
    },

    reports(tx, channel, from, to) {
      return oneAtATime(channel, async () => {
        const entry = entryOf(channel);
        entry.latestMs = Math.max(entry.latestMs, Date.parse(to));
        const held = await catchUp(tx, channel, entry, from);
        // a stage rollup that ticks stopped reading is dropped (it is rebuilt when needed again)
        if (entry.rollup === null || held.fresh.length > held.items.length + CATCH_UP_ROWS) {
          held.fresh = [];
          entry.rollup = null;
        }
        const out: TargetReport[] = [];
        for (const item of held.items) {
          if (item.report.at < from) continue;
          if (item.report.at > to) continue;
          out.push(item.report);
        }
        return out;
      });
    },

    measures(tx, channel, stage, from, to) {
      return oneAtATime(channel, async () => {
        const entry = entryOf(channel);
        entry.latestMs = Math.max(entry.latestMs, Date.parse(to));
        const held = await catchUp(tx, channel, entry, from);
        const windows = planHealthWindows(stage.plan);
        const windowsKey = JSON.stringify(windows);
        let kept = entry.rollup;
        let source: readonly RollupReport[][] = [kept?.pending ?? [], held.fresh];
        if (
          kept === null ||
          kept.release !== stage.release ||
          kept.pack !== stage.pack ||
          kept.members !== stage.stageTargets ||
          kept.windows !== windowsKey ||
          from < new Date(kept.rollup.horizon).toISOString() ||
          to < kept.to
        ) {
          const rollup = emptyRollup({
            pack: stage.pack,
            members: stage.stageTargets,
            metrics: windows.map((w) => w.metric),
            horizon: Date.parse(from),
          });
          kept = {
            release: stage.release,
            pack: stage.pack,
            members: stage.stageTargets,
            windows: windowsKey,
            to,
            rollup,
            pending: [],
          };
          source = [held.items];
          entry.rollup = kept;
        }
        const ready: RollupReport[] = [];
        const pending: RollupReport[] = [];
        for (const list of source) {
          for (const item of list) (item.report.at <= to ? ready : pending).push(item);
        }
        held.fresh = [];
        kept.pending = pending;
        kept.to = to;
        expireRollup(kept.rollup, Date.parse(from));
        addReports(kept.rollup, ready);
        return measureStage(kept.rollup, { now: to, reportsFrom: from, windows });
      });
    },
  };
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function compareReports(
  a: { id: string; report: TargetReport },
  b: { id: string; report: TargetReport },
): number {
  if (a.report.at !== b.report.at) return a.report.at < b.report.at ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Adds `added` to `items` (ordered by compareReports), keeping the order: `added` is sorted on
 * its own and merged into the tail of `items` it overlaps (reports are numbered in commit order,
 * so that tail is short), never a sort of the whole window.
 */
function mergeInto(items: RollupReport[], added: RollupReport[]): void {
  if (added.length === 0) return;
  added.sort(compareReports);
  const first = added[0] as RollupReport;
  // The first held report after the first added one: everything before it stays in place.
  let low = 0;
  let high = items.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compareReports(items[mid] as RollupReport, first) <= 0) low = mid + 1;
    else high = mid;
  }
  const tail = items.splice(low);
  let i = 0;
  let j = 0;
  while (i < tail.length && j < added.length) {
    const a = tail[i] as RollupReport;
    const b = added[j] as RollupReport;
    if (compareReports(a, b) <= 0) {
      items.push(a);
      i += 1;
    } else {
      items.push(b);
      j += 1;
    }
  }
  for (; i < tail.length; i++) items.push(tail[i] as RollupReport);
  for (; j < added.length; j++) items.push(added[j] as RollupReport);
}

/** The first position whose report is at or after `from` (items ordered by at). */
function firstAtOrAfter(items: readonly { report: TargetReport }[], from: string): number {
  let low = 0;
  let high = items.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((items[mid]?.report.at ?? '') < from) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * The offered reports numbered after `heldSeq` when they run on from it without a gap, else
 * none (those numbered up to `heldSeq` were read already).
 */
function offeredRun(entry: ChannelEntry, heldSeq: number): ChannelEntry['offered'] {
  const usable = entry.offered.filter((item) => item.seq > heldSeq);
  return usable[0]?.seq === heldSeq + 1 ? usable : [];
}

/** The number the held reports reach with the offered ones taken (`takeOffered`). */
function offeredEnd(entry: ChannelEntry, heldSeq: number): number {
  return offeredRun(entry, heldSeq).at(-1)?.seq ?? heldSeq;
}

/** Takes the offered run (`offeredRun`) up to `upTo`; what it leaves stays offered. */
function takeOffered(entry: ChannelEntry, heldSeq: number, upTo: number): NumberedReport[] {
  const run = offeredRun(entry, heldSeq);
  const taken = run.filter((item) => item.seq <= upTo);
  entry.offered = run.slice(taken.length);
  return taken;
}

/** A report as the store reads it back (target-store.ts `reportFromRow`: its JSON columns). */
function asStored(report: TargetReport): TargetReport {
  const stored: TargetReport = {
    targetId: report.targetId,
    at: report.at,
    activePack: report.activePack,
  };
  if (report.lastAttempt !== undefined) {
    stored.lastAttempt = JSON.parse(
      JSON.stringify(report.lastAttempt),
    ) as TargetReport['lastAttempt'];
  }
  if (report.health !== undefined) {
    stored.health = JSON.parse(JSON.stringify(report.health)) as TargetReport['health'];
  }
  return stored;
}
