/**
 * The server's own periodic work, apart from the release controller so it never delays a tick:
 * sign a log checkpoint when the log grew, at most once a minute (LockgateLogCheckpointStale
 * watches that it happens),
 * announce freeze windows that began (`freeze.window_started`), and run the error budget policy
 * when it is configured. One run does each step in turn; a failed step is reported and the next
 * still runs. Runs never overlap; `stop` waits for the run in progress.
 */
import type { Clock } from '../../clock.ts';
import type { FreezeService } from '../freezes/public.ts';
import type { LogService } from '../log/public.ts';
import type { ErrorBudgetPolicy } from './error-budget-policy.ts';

export const DEFAULT_OPERATIONS_INTERVAL_MS = 15_000;
/** The jobs sign a checkpoint at most this often (witnesses and exports may ask for more). */
export const CHECKPOINT_EVERY_MS = 60_000;

export interface OperationsJobs {
  /** One run of every step, now. */
  runOnce(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

export function createOperationsJobs(deps: {
  log: Pick<LogService, 'checkpoint'>;
  freezes: Pick<FreezeService, 'announceStarts'>;
  /** null when the error budget policy is off */
  errorBudget: ErrorBudgetPolicy | null;
  clock: Clock;
  intervalMs?: number;
  onError: (error: unknown, step: string) => void;
}): OperationsJobs {
  const { log, freezes, errorBudget, clock, onError } = deps;
  const intervalMs = deps.intervalMs ?? DEFAULT_OPERATIONS_INTERVAL_MS;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  let stopped = true;
  let lastCheckpointAt: number | null = null;

  const step = async (name: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
    } catch (error) {
      onError(error, name);
    }
  };

  const runOnce = (): Promise<void> => {
    running = running.then(async () => {
      const now = clock().getTime();
      if (lastCheckpointAt === null || now - lastCheckpointAt >= CHECKPOINT_EVERY_MS) {
        lastCheckpointAt = now;
        await step('log-checkpoint', () => log.checkpoint());
      }
      await step('freeze-starts', () => freezes.announceStarts());
      if (errorBudget !== null) await step('error-budget', () => errorBudget.run());
    });
    return running;
  };

  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = null;
      void runOnce().finally(schedule);
    }, intervalMs);
    timer.unref();
  };

  return {
    runOnce,
    start() {
      if (!stopped) return;
      stopped = false;
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
