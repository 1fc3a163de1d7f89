/**
 * Stop the line: freeze every environment (or some) at once, lift those freezes, and the error
 * budget policy that freezes one environment by itself.
 *
 * A freeze made here is an ordinary one-time freeze window (core freeze.ts semantics: no
 * release starts or advances; pauses and rollbacks still happen), starting now and lasting
 * until lifted (or `until`). Its id says who made it — `frz_stl_…` stop the line,
 * `frz_ebf_…` the error budget policy — so lifting removes those and never a scheduled
 * maintenance window. Every freeze and lift is a decision record in the transaction that
 * writes it, and `freeze.started` webhooks follow from those records.
 *
 * A window made ahead of time (scheduled maintenance, a weekly freeze) starts with no command:
 * `announceStarts` (run by the operations jobs) records `freeze.window_started` for each
 * occurrence in effect whose start was not announced yet — once per occurrence, claimed in the
 * same transaction (`freeze_starts`). An occurrence already in effect when its window was made
 * was announced by the record that made it (`freeze.created`), so it is skipped.
 */
import { randomUUID } from 'node:crypto';
import { activeFreeze, errorBudget, LockgateError, validateFreezeWindow } from '@lockgate/core';
import type { ErrorBudget, FreezeWindow } from '@lockgate/core';
import type { Clock } from '../../clock.ts';
import type { Signals } from '../../signals.ts';
import type { StoresOf } from '../../stores.ts';
import { normalizeTime } from '../../time.ts';
import { environmentNotFound } from '../channels/public.ts';
import { recordDecisions } from '../decisions/public.ts';
import type { DecisionRecordDraft } from '../decisions/public.ts';
import type { StoredFreezeWindow } from '../environments/public.ts';

/** The stores this module uses, and no others. */
type UsedStores = StoresOf<
  'contexts' | 'decisions' | 'environments' | 'log' | 'serverKeys' | 'webhooks' | 'statements'
>;

/** A stop-the-line freeze without `until` lasts until lifted. */
export const UNTIL_LIFTED = '9999-12-31T23:59:59.000Z';
export const STOP_THE_LINE_PREFIX = 'frz_stl_';
export const ERROR_BUDGET_PREFIX = 'frz_ebf_';
export const ERROR_BUDGET_ACTOR_RULE = 'freeze.error_budget_exhausted';
export const WINDOW_STARTED_RULE = 'freeze.window_started';
/** The actor of decisions the server's own jobs make (no operator asked). */
export const POLICY_ACTOR = 'lockgate';

export interface ActiveFreezeView {
  env: string;
  id: string;
  reason: string;
  from: string;
  until: string;
  /** who made it: stop-the-line, error-budget, or a scheduled window */
  source: 'stop-the-line' | 'error-budget' | 'window';
  createdBy: string;
}

export interface ErrorBudgetReport {
  env: string;
  /** the SLO's name, e.g. `desired-availability` */
  slo: string;
  objective: number;
  good: number;
  total: number;
  /** the window the numbers cover, e.g. `30d` (recorded, not interpreted) */
  window: string;
  /** where the numbers come from, e.g. a PromQL query or `alertmanager` */
  source: string;
}

export interface FreezeService {
  /** Freezes the environments named (all when null) now; skips those already stopped. */
  stopTheLine(
    input: { envs: string[] | null; reason: string; until?: string },
    actor: string,
  ): Promise<ActiveFreezeView[]>;
  /** Lifts stop-the-line and error-budget freezes in the environments named (all when null). */
  lift(
    input: { envs: string[] | null; reason: string },
    actor: string,
  ): Promise<ActiveFreezeView[]>;
  /** Every freeze in effect now, by environment. */
  active(): Promise<ActiveFreezeView[]>;
  /**
   * The error budget policy: freezes the environment when the reported budget is exhausted
   * (once: an error-budget freeze in effect is kept, not doubled). Records nothing otherwise.
   */
  reportErrorBudget(
    report: ErrorBudgetReport,
    actor: string,
  ): Promise<{ budget: ErrorBudget; frozen: ActiveFreezeView | null; alreadyFrozen: boolean }>;
  /**
   * Records `freeze.window_started` for every freeze window occurrence in effect now whose start
   * was not announced yet; returns those it announced.
   */
  announceStarts(): Promise<ActiveFreezeView[]>;
}

export function createFreezeService(deps: {
  stores: UsedStores;
  clock: Clock;
  signals: Pick<Signals, 'wakeController'>;
}): FreezeService {
  const { stores, clock, signals } = deps;

  const envsOf = async (tx: UsedStores, names: string[] | null) => {
    const all = (await tx.environments.list()).map((e) => e.name);
    if (names === null) return all;
    for (const name of names) if (!all.includes(name)) throw environmentNotFound(name);
    return [...new Set(names)].sort();
  };

  const activeIn = async (tx: UsedStores, env: string, at: string): Promise<ActiveFreezeView[]> => {
    const stored = await tx.environments.listFreezeWindows(env);
    return stored.flatMap((s) => {
      const active = activeFreeze([s.window], at);
      return active === null ? [] : [viewOf(s, active.from, active.until)];
    });
  };

  const freezeWindow = (prefix: string, reason: string, start: string, end: string): FreezeWindow =>
    validateFreezeWindow({ id: `${prefix}${randomUUID()}`, reason, kind: 'once', start, end });

  return {
    async stopTheLine(input, actor) {
      const at = clock().toISOString();
      const end =
        input.until === undefined
          ? UNTIL_LIFTED
          : normalizeTime(input.until, 'until', 'VALIDATION_FAILED');
      if (end <= at) {
        throw new LockgateError('VALIDATION_FAILED', 'until must be in the future.', {
          details: { until: input.until },
        });
      }
      const frozen = await stores.transaction(async (tx) => {
        const envs = await envsOf(tx, input.envs);
        const made: ActiveFreezeView[] = [];
        const records: DecisionRecordDraft[] = [];
        for (const env of envs) {
          await tx.environments.lock(env); // in name order: two stops never deadlock
          const active = await activeIn(tx, env, at);
          if (active.some((f) => f.source === 'stop-the-line')) continue;
          const window = freezeWindow(STOP_THE_LINE_PREFIX, input.reason, at, end);
          const stored: StoredFreezeWindow = { env, window, createdAt: at, createdBy: actor };
          await tx.environments.insertFreezeWindow(stored);
          records.push(
            freezeRecord(env, at, actor, input.reason, 'freeze.stop_the_line', 'frozen', {
              freezeWindow: window,
              scope: input.envs === null ? 'all' : envs,
            }),
          );
          made.push(viewOf(stored, at, end));
        }
        await recordDecisions(tx, records);
        return made;
      });
      signals.wakeController();
      return frozen;
    },

    async lift(input, actor) {
      const at = clock().toISOString();
      const lifted = await stores.transaction(async (tx) => {
        const envs = await envsOf(tx, input.envs);
        const removed: ActiveFreezeView[] = [];
        const records: DecisionRecordDraft[] = [];
        for (const env of envs) {
          for (const freeze of await activeIn(tx, env, at)) {
            if (freeze.source === 'window') continue;
            if (!(await tx.environments.deleteFreezeWindow(env, freeze.id))) continue;
            records.push(
              freezeRecord(env, at, actor, input.reason, 'freeze.lifted', 'lifted', {
                freeze: { id: freeze.id, reason: freeze.reason, source: freeze.source },
              }),
            );
            removed.push(freeze);
          }
        }
        await recordDecisions(tx, records);
        return removed;
      });
      signals.wakeController();
      return lifted;
    },

    async active() {
      const at = clock().toISOString();
      const envs = await envsOf(stores, null);
      const all: ActiveFreezeView[] = [];
      for (const env of envs) all.push(...(await activeIn(stores, env, at)));
      return all;
    },

    async reportErrorBudget(report, actor) {
      const budget = errorBudget(report);
      if (!budget.exhausted) return { budget, frozen: null, alreadyFrozen: false };
      const at = clock().toISOString();
      const outcome = await stores.transaction(async (tx) => {
        // one decision at a time per environment: two reporters (or servers) never both freeze it
        if (!(await tx.environments.lock(report.env))) throw environmentNotFound(report.env);
        const active = await activeIn(tx, report.env, at);
        if (active.some((f) => f.source === 'error-budget')) return null;
        const reason = `error budget of ${report.slo} exhausted: ${budget.summary}`;
        const window = freezeWindow(ERROR_BUDGET_PREFIX, reason, at, UNTIL_LIFTED);
        const stored: StoredFreezeWindow = {
          env: report.env,
          window,
          createdAt: at,
          createdBy: actor,
        };
        await tx.environments.insertFreezeWindow(stored);
        await recordDecisions(tx, [
          freezeRecord(report.env, at, actor, reason, ERROR_BUDGET_ACTOR_RULE, 'frozen', {
            freezeWindow: window,
            slo: report.slo,
            window: report.window,
            source: report.source,
            budget,
          }),
        ]);
        return viewOf(stored, at, UNTIL_LIFTED);
      });
      if (outcome !== null) signals.wakeController();
      return { budget, frozen: outcome, alreadyFrozen: outcome === null };
    },

    async announceStarts() {
      const at = clock().toISOString();
      const announced: ActiveFreezeView[] = [];
      for (const env of await envsOf(stores, null)) {
        for (const stored of await stores.environments.listFreezeWindows(env)) {
          const active = activeFreeze([stored.window], at);
          if (active === null || Date.parse(active.from) <= Date.parse(stored.createdAt)) continue;
          const view = await stores.transaction(async (tx) => {
            const claimed = await tx.environments.claimFreezeStart({
              env,
              windowId: stored.window.id,
              from: active.from,
              at,
            });
            if (!claimed) return null;
            await recordDecisions(tx, [
              freezeRecord(
                env,
                at,
                POLICY_ACTOR,
                stored.window.reason,
                WINDOW_STARTED_RULE,
                'frozen',
                {
                  freezeWindow: stored.window,
                  occurrence: { from: active.from, until: active.until },
                },
              ),
            ]);
            return viewOf(stored, active.from, active.until);
          });
          if (view !== null) announced.push(view);
        }
      }
      return announced;
    },
  };
}

function sourceOf(id: string): ActiveFreezeView['source'] {
  if (id.startsWith(STOP_THE_LINE_PREFIX)) return 'stop-the-line';
  if (id.startsWith(ERROR_BUDGET_PREFIX)) return 'error-budget';
  return 'window';
}

function viewOf(stored: StoredFreezeWindow, from: string, until: string): ActiveFreezeView {
  return {
    env: stored.env,
    id: stored.window.id,
    reason: stored.window.reason,
    from,
    until,
    source: sourceOf(stored.window.id),
    createdBy: stored.createdBy,
  };
}

function freezeRecord(
  env: string,
  at: string,
  actor: string,
  reason: string,
  rule: string,
  verdict: string,
  inputs: Record<string, unknown>,
): DecisionRecordDraft {
  return {
    release: null,
    env,
    channel: null,
    at,
    kind: 'freeze',
    rule,
    actor,
    reason,
    from: null,
    to: null,
    stageIndex: null,
    inputs,
    verdict,
    holder: null,
  };
}
