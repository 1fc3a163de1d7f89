/**
 * The error budget of a service level objective, and the policy that freezes an environment
 * when it is spent (docs/operations/slos.md).
 *
 * For an objective `o` (0 < o < 1, e.g. 0.999) over a window with `total` events of which
 * `good` met the objective: the budget is `(1 − o)·total` bad events; `spent = bad / budget`
 * (1 = all of it); `remaining = 1 − spent` (negative when overspent). The budget is exhausted
 * when `remaining ≤ 0` and there were at least `minEvents` events: a window with too little
 * traffic decides nothing (fail safe: no freeze on no data, the data-sufficiency rule of gates).
 */
import { LockgateError } from '../errors.ts';

export interface ErrorBudgetInput {
  /** the objective, 0 < objective < 1 */
  objective: number;
  /** events that met the objective in the window */
  good: number;
  /** all events in the window */
  total: number;
  /** fewer events than this decide nothing (default 100) */
  minEvents?: number;
}

export interface ErrorBudget {
  objective: number;
  good: number;
  total: number;
  bad: number;
  /** bad events the objective allows in the window */
  allowedBad: number;
  /** fraction of the budget left: 1 untouched, 0 spent, below 0 overspent; null without data */
  remaining: number | null;
  /** true when the window had enough events and the budget is spent */
  exhausted: boolean;
  /** why, in a sentence */
  summary: string;
}

export const DEFAULT_ERROR_BUDGET_MIN_EVENTS = 100;

export function errorBudget(input: ErrorBudgetInput): ErrorBudget {
  const { objective, good, total } = input;
  const minEvents = input.minEvents ?? DEFAULT_ERROR_BUDGET_MIN_EVENTS;
  const problems: string[] = [];
  if (!(objective > 0 && objective < 1)) problems.push('objective must be between 0 and 1');
  if (!Number.isSafeInteger(total) || total < 0) problems.push('total must be a whole number ≥ 0');
  if (!Number.isSafeInteger(good) || good < 0 || good > total) {
    problems.push('good must be a whole number between 0 and total');
  }
  if (!Number.isSafeInteger(minEvents) || minEvents < 1) problems.push('minEvents must be ≥ 1');
  if (problems.length > 0) {
    throw new LockgateError(
      'VALIDATION_FAILED',
      `The error budget input is malformed: ${problems[0]}.`,
      {
        details: { problems },
      },
    );
  }
  const bad = total - good;
  // Rounded to a millionth of an event: (1 − 0.99)·1000 is 10, not 10.000000000000009.
  const allowedBad = Math.round((1 - objective) * total * 1e6) / 1e6;
  if (total < minEvents) {
    return {
      objective,
      good,
      total,
      bad,
      allowedBad,
      remaining: null,
      exhausted: false,
      summary: `${total} events are fewer than the ${minEvents} needed to judge the budget`,
    };
  }
  // An objective so strict it allows no bad event in the window: any bad event spends it all.
  const remaining = allowedBad > 0 ? 1 - bad / allowedBad : bad === 0 ? 1 : 0;
  const exhausted = remaining <= 0;
  return {
    objective,
    good,
    total,
    bad,
    allowedBad,
    remaining,
    exhausted,
    summary: exhausted
      ? `${bad} bad events of ${total} spent the budget of ${allowedBad.toFixed(1)} (objective ${objective})`
      : `${(remaining * 100).toFixed(1)}% of the error budget is left`,
  };
}
