/**
 * The error budget policy run by the server itself (docs/operations/slos.md): each run adds the
 * availability events this server counted since its last run to the shared per-minute samples,
 * sums the samples of the policy's window (every server's), and when core `errorBudget` says the
 * budget is exhausted, reports it through the freeze service — the road `POST
 * /freezes/error-budget` takes — for each environment the policy covers. The freeze service
 * freezes an environment once (`alreadyFrozen` afterwards) and records the decision with the
 * numbers; a window with fewer events than the minimum decides nothing.
 *
 * One freeze per exhaustion: while the budget stays exhausted, an environment this policy froze
 * (or found frozen) is not frozen again after an operator lifts it; the lift holds until a run
 * sees the budget no longer exhausted (the episode ends), or this server restarts (its first run
 * applies the policy afresh: failing safe, frozen).
 *
 * Invariants: time comes from the injected clock; nothing here runs in the controller's tick; a
 * failed report for one environment does not stop the others (and is retried on the next run).
 */
import { errorBudget } from '@lockgate/core';
import type { ErrorBudget } from '@lockgate/core';
import type { Clock } from '../../clock.ts';
import type { ErrorBudgetConfig } from '../../config.ts';
import type { StoresOf } from '../../stores.ts';
import { POLICY_ACTOR } from '../freezes/public.ts';
import type { FreezeService } from '../freezes/public.ts';
import { AVAILABILITY_SLO } from './availability-sli.ts';
import type { SliCounts } from './availability-sli.ts';

const MINUTE_MS = 60_000;

export interface ErrorBudgetRun {
  budget: ErrorBudget;
  /** environments this run froze */
  frozen: string[];
  /** environments already frozen by the policy */
  alreadyFrozen: string[];
}

export interface ErrorBudgetPolicy {
  run(): Promise<ErrorBudgetRun>;
}

/** Where the numbers come from, as recorded in the decision's inputs. */
export const SELF_MEASURED_SOURCE =
  'lockgate: GET channel index and target desired answers counted by the servers (2xx/304 under 1 s good, 5xx or slower bad)';

export function createErrorBudgetPolicy(deps: {
  stores: StoresOf<'slo' | 'environments'>;
  freezes: Pick<FreezeService, 'reportErrorBudget'>;
  /** takes this server's counts since the last take (metrics service) */
  takeCounts: () => SliCounts;
  /** told the budget of each run (metrics service) */
  observe?: (slo: string, budget: ErrorBudget) => void;
  clock: Clock;
  config: ErrorBudgetConfig;
  onError: (error: unknown, env: string) => void;
}): ErrorBudgetPolicy {
  const { stores, freezes, takeCounts, clock, config, onError } = deps;
  /** environments frozen (or found frozen) in the current exhaustion episode */
  const applied = new Set<string>();
  return {
    async run() {
      const nowMs = clock().getTime();
      const minute = new Date(Math.floor(nowMs / MINUTE_MS) * MINUTE_MS).toISOString();
      const since = new Date(nowMs - config.windowMs).toISOString();
      const counts = takeCounts();
      if (counts.total > 0) await stores.slo.addSample(AVAILABILITY_SLO, minute, counts);
      await stores.slo.prune(AVAILABILITY_SLO, since);
      const { good, total } = await stores.slo.totals(AVAILABILITY_SLO, since);
      const budget = errorBudget({ objective: config.objective, good, total });
      deps.observe?.(AVAILABILITY_SLO, budget);
      const outcome: ErrorBudgetRun = { budget, frozen: [], alreadyFrozen: [] };
      if (!budget.exhausted) {
        applied.clear();
        return outcome;
      }
      const envs = config.envs ?? (await stores.environments.list()).map((e) => e.name);
      for (const env of envs) {
        if (applied.has(env)) continue;
        try {
          const reported = await freezes.reportErrorBudget(
            {
              env,
              slo: AVAILABILITY_SLO,
              objective: config.objective,
              good,
              total,
              window: config.window,
              source: SELF_MEASURED_SOURCE,
            },
            POLICY_ACTOR,
          );
          if (reported.frozen !== null) outcome.frozen.push(env);
          if (reported.alreadyFrozen) outcome.alreadyFrozen.push(env);
          applied.add(env);
        } catch (error) {
          onError(error, env);
        }
      }
      return outcome;
    },
  };
}
