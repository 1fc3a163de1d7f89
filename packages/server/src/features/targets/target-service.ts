import { randomUUID } from 'node:crypto';
import {
  desiredPack,
  desiredPackStableUntil,
  isLabelKey,
  isLabelValue,
  LockgateError,
} from '@lockgate/core';
import type { DesiredReason, TargetAttempt, TargetHealth } from '@lockgate/core';
import type { Clock } from '../../clock.ts';
import type { Signals } from '../../signals.ts';
import type { StoresOf } from '../../stores.ts';
import { findChannel } from '../channels/public.ts';
import { createGroupCommit } from '../../group-commit.ts';
import { recordDecisions } from '../decisions/public.ts';
import type { DecisionRecordDraft } from '../decisions/public.ts';
import { assertChannelInScope, assertTargetInScope } from '../tokens/public.ts';
import type { Principal } from '../tokens/public.ts';
import type { CachedIndex, CheckinCache } from './checkin-cache.ts';
import { createReportQueue } from './report-queue.ts';
import type { CommittedReport, ReportQueueOptions } from './report-queue.ts';
import type { StoredReport, StoredTarget } from './target-store.ts';

/** The stores this module uses, and no others. */
type UsedStores = StoresOf<
  | 'channels'
  | 'contexts'
  | 'decisions'
  | 'environments'
  | 'log'
  | 'serverKeys'
  | 'targets'
  | 'webhooks'
  | 'statements'
>;

/** A target as the API shows it: the stored row without its bookkeeping time. */
export type TargetView = Omit<StoredTarget, 'updatedAt'>;

export interface TargetRegistration {
  env: string;
  channel: string;
  labels: Record<string, string>;
  capabilities?: Record<string, string>;
}

export interface TargetReportInput {
  activePack: string | null;
  lastAttempt?: TargetAttempt;
  health?: TargetHealth;
}

export interface DesiredView {
  pack: string | null;
  reason: DesiredReason;
  indexVersion: number;
}

/**
 * Register, report and desired act for one target: FORBIDDEN unless the actor's scope covers the
 * target id and every channel involved (the channel it registers in, the channel it is
 * registered in). Out-of-scope ids are refused before the target is looked up, so a token learns
 * nothing of targets outside its scope.
 */
export interface TargetService {
  /** Registers or updates a target (idempotent); a move to another channel is recorded. */
  register(
    id: string,
    input: TargetRegistration,
    actor: Principal,
  ): Promise<{ target: TargetView; created: boolean }>;
  /**
   * Appends a report stamped with the server clock, resolving once it is committed (group
   * commit); TARGET_NOT_FOUND when unregistered, REPORTS_BACKLOGGED when the queue is full.
   */
  report(id: string, input: TargetReportInput, actor: Principal): Promise<void>;
  /**
   * Appends the reports of many targets (a relay forwarding them) as one group: every report is
   * checked as `report` checks one before any is queued, and they are committed in one batch,
   * all or none. A refusal names the report (`reports[i]: …`, `details.index`). Returns how many
   * were stored.
   */
  reportMany(
    items: readonly (TargetReportInput & { target: string })[],
    actor: Principal,
  ): Promise<number>;
  /** By id; `after` pages on from the last id of the previous page. */
  list(query: {
    env?: string;
    channel?: string;
    after?: string;
    limit: number;
  }): Promise<TargetView[]>;
  get(id: string): Promise<TargetView>;
  /** core desiredPack on the channel's current index payload, now. */
  desired(id: string, actor: Principal): Promise<DesiredView>;
  /** Resolves when every report submitted so far is committed or refused (shutdown). */
  drain(): Promise<void>;
  /** Reports waiting to be written. */
  waiting(): number;
}

/** Registrations committed together at most (group commit). */
const REGISTRATION_GROUP = 500;

interface Registration {
  id: string;
  input: TargetRegistration;
  actor: Principal;
  at: string;
}

interface Registered {
  stored: StoredTarget;
  created: boolean;
}

/** The LockgateError `check` throws, or null; anything else is thrown on. */
async function refusalOf(check: () => unknown): Promise<LockgateError | null> {
  try {
    await check();
    return null;
  } catch (error) {
    if (error instanceof LockgateError) return error;
    throw error;
  }
}

export function createTargetService(deps: {
  stores: UsedStores;
  clock: Clock;
  signals: Signals;
  /** told after each batch of reports is committed, with their numbers (release inputs) */
  onCommitted?: (batch: readonly CommittedReport[]) => void;
  /** told after each report is committed, with the attempt the target reported before (metrics) */
  onReport?: (report: {
    env: string;
    channel: string;
    previous: TargetAttempt | null;
    activePack: string | null;
    attempt?: TargetAttempt;
  }) => void;
  /** Where reports and check-ins read the target and the channel index (`checkin-cache.ts`). */
  checkin: CheckinCache;
  /** Sizes of the group-commit queue reports are written through (`report-queue.ts`). */
  reportQueue?: Pick<ReportQueueOptions, 'capacity' | 'maxBatch' | 'lingerMs'>;
}): TargetService {
  const { stores, clock, checkin } = deps;
  const { onReport } = deps;
  // Reports are written in group commits; the controller is woken once per batch.
  const reports = createReportQueue({
    ...deps.reportQueue,
    stores,
    readPrevious: onReport !== undefined,
    onCommitted: (batch) => {
      deps.onCommitted?.(batch);
      deps.signals.wakeController();
      if (onReport === undefined) return;
      for (const { report, previous } of batch) {
        onReport({
          env: report.env,
          channel: report.channel,
          previous,
          activePack: report.activePack,
          ...(report.lastAttempt === undefined ? {} : { attempt: report.lastAttempt }),
        });
      }
    },
  });

  // What `desired` answered for a cached target row on a cached index, kept while core says the
  // answer holds (desiredPackStableUntil): a new index version or a re-read row is another key,
  // so an answer is never served past a change; a row dropped from the cache takes its answer.
  const answers = new WeakMap<
    StoredTarget,
    { index: CachedIndex; fromMs: number; untilMs: number; view: DesiredView }
  >();

  /** The target as check-ins read it: where it is and its labels, from the check-in cache. */
  const placementOf = async (id: string): Promise<StoredTarget> =>
    orNotFound(id, await checkin.target(id));

  /** A report of the target as stored, once the actor's scope covers it where it is. */
  const storedReport = async (
    id: string,
    input: TargetReportInput,
    actor: Principal,
    at: string,
  ): Promise<StoredReport> => {
    assertTargetInScope(actor, id);
    const target = await placementOf(id);
    assertChannelInScope(actor, target.env, target.channel, `report for ${id} in`);
    return {
      id: randomUUID(),
      targetId: id,
      env: target.env,
      channel: target.channel,
      at,
      activePack: input.activePack,
      ...(input.lastAttempt === undefined ? {} : { lastAttempt: input.lastAttempt }),
      ...(input.health === undefined ? {} : { health: input.health }),
    };
  };

  /**
   * Stores the targets of a group of registrations (where each is, its labels) and records the
   * moves, in one transaction. A registration refused (its channel missing, a move out of the
   * actor's scope) is answered with its error and writes nothing; the others go on. A target
   * registered twice in the group is stored as registered last.
   */
  const registerAll = (
    group: readonly Registration[],
  ): Promise<readonly (Registered | LockgateError)[]> =>
    stores.transaction(async (tx) => {
      const known = await tx.targets.findMany(group.map((one) => one.id));
      const channels = new Map<string, LockgateError | null>();
      const answers: (Registered | LockgateError)[] = [];
      const writes: StoredTarget[] = [];
      const moves: DecisionRecordDraft[] = [];
      for (const { id, input, actor, at } of group) {
        const where = `${input.env}\n${input.channel}`;
        if (!channels.has(where)) {
          channels.set(where, await refusalOf(() => findChannel(tx, input.env, input.channel)));
        }
        const existing = known.get(id) ?? null;
        const refused =
          channels.get(where) ??
          (existing === null
            ? null
            : await refusalOf(() =>
                assertChannelInScope(actor, existing.env, existing.channel, `move ${id} out of`),
              ));
        if (refused !== null) {
          answers.push(refused);
          continue;
        }
        const target: StoredTarget = {
          id,
          env: input.env,
          channel: input.channel,
          labels: { ...input.labels },
          capabilities: { ...(input.capabilities ?? existing?.capabilities ?? {}) },
          activePack: existing?.activePack ?? null,
          lastAttempt: existing?.lastAttempt ?? null,
          lastReportAt: existing?.lastReportAt ?? null,
          registeredAt: existing?.registeredAt ?? at,
          updatedAt: at,
        };
        known.set(id, target);
        writes.push(target);
        answers.push({ stored: target, created: existing === null });
        if (
          existing !== null &&
          (existing.env !== target.env || existing.channel !== target.channel)
        ) {
          moves.push({
            release: null,
            env: target.env,
            channel: target.channel,
            at,
            kind: 'target',
            rule: 'target.moved',
            actor: actor.name,
            reason: null,
            from: null,
            to: null,
            stageIndex: null,
            inputs: {
              target: id,
              from: { env: existing.env, channel: existing.channel },
              to: { env: target.env, channel: target.channel },
            },
            verdict: 'moved',
            holder: null,
          });
        }
      }
      const inserted = await tx.targets.upsertMany(writes);
      if (moves.length > 0) await recordDecisions(tx, moves);
      // `created`: the first registration of an id the group inserted (another process may have
      // inserted it after it was read: then it was updated, not created)
      return answers.map((answer) =>
        answer instanceof LockgateError
          ? answer
          : { ...answer, created: answer.created && inserted.has(answer.stored.id) },
      );
    });
  // Registrations are committed in groups (group-commit.ts): one transaction, and one bump of
  // each channel's targets counter, for every registration that arrived while the last ran.
  const registrations = createGroupCommit<Registration, Registered>({
    maxGroup: REGISTRATION_GROUP,
    run: registerAll,
  });

  return {
    async register(id, input, actor) {
      assertTargetInScope(actor, id);
      assertChannelInScope(actor, input.env, input.channel, `register ${id} in`);
      checkLabels(input.labels, 'labels');
      const at = clock().toISOString();
      const result = await registrations.submit({ id, input, actor, at });
      // Groups commit one after another and answer in order (a target registered twice in a
      // group: as it was written last, after the first), so the row kept is the one committed last.
      checkin.targetStored(result.stored);
      return { target: targetView(result.stored), created: result.created };
    },

    async report(id, input, actor) {
      await reports.submit(await storedReport(id, input, actor, clock().toISOString()));
    },

    async reportMany(items, actor) {
      const at = clock().toISOString();
      const group: StoredReport[] = [];
      for (const [index, item] of items.entries()) {
        try {
          group.push(await storedReport(item.target, item, actor, at));
        } catch (error) {
          if (!(error instanceof LockgateError)) throw error;
          throw new LockgateError(error.code, `reports[${index}]: ${error.message}`, {
            details: { ...error.details, index, target: item.target },
          });
        }
      }
      await reports.submit(...group);
      return group.length;
    },

    async list(query) {
      return (await stores.targets.list(query)).map(targetView);
    },

    async get(id) {
      return targetView(orNotFound(id, await stores.targets.find(id)));
    },

    async desired(id, actor) {
      assertTargetInScope(actor, id);
      const target = await placementOf(id);
      assertChannelInScope(actor, target.env, target.channel, `read what ${id} runs in`);
      const index = await checkin.index(target.env, target.channel);
      const now = clock();
      const nowMs = now.getTime();
      const kept = answers.get(target);
      if (kept?.index === index && kept.fromMs <= nowMs && nowMs < kept.untilMs) return kept.view;
      const desired = desiredPack(index.payload, { id, labels: target.labels }, now);
      const view = { pack: desired.pack, reason: desired.reason, indexVersion: index.version };
      const untilMs = desiredPackStableUntil(index.payload, now);
      answers.set(target, { index, fromMs: nowMs, untilMs, view });
      return view;
    },

    drain: () => reports.drain(),
    waiting: () => reports.waiting,
  };
}

function orNotFound(id: string, target: StoredTarget | null): StoredTarget {
  if (target === null) {
    throw new LockgateError('TARGET_NOT_FOUND', `No target has id ${id}.`, { details: { id } });
  }
  return target;
}

function checkLabels(labels: Record<string, string>, field: string): void {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(labels)) {
    if (!isLabelKey(key)) problems.push(`${field} key "${key}" is not a valid label key`);
    if (!isLabelValue(value))
      problems.push(`${field}.${key} value "${value}" is not a valid label value`);
  }
  if (problems.length > 0) {
    throw new LockgateError('VALIDATION_FAILED', `The target is malformed: ${problems[0]}.`, {
      details: { problems },
    });
  }
}

export function targetView(target: StoredTarget): TargetView {
  return {
    id: target.id,
    env: target.env,
    channel: target.channel,
    labels: target.labels,
    capabilities: target.capabilities,
    activePack: target.activePack,
    lastReportAt: target.lastReportAt,
    lastAttempt: target.lastAttempt,
    registeredAt: target.registeredAt,
  };
}
