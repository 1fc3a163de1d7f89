/**
 * Reports written in group commits: a bounded in-process queue and one writer that takes up to
 * `maxBatch` waiting reports and stores them in one transaction.
 *
 * Invariants:
 * - `submit` resolves only after the transaction holding its reports committed, so a report
 *   acknowledged (202) survives a crash; when that transaction fails, every report of the batch is
 *   rejected with its error (none of them was acknowledged, the agent sends its deltas again).
 * - The reports of one `submit` are one group: written in the same batch, so all of them are
 *   stored or none.
 * - At most `capacity` reports wait (plus one batch being written): a group that does not fit
 *   throws REPORTS_BACKLOGGED with `retryAfterSeconds`, what the backlog takes to drain at the
 *   rate the last batches were written (1 to 60 s). Memory is bounded by the capacity.
 * - Batches are written one at a time, in arrival order, of whole groups up to `maxBatch`
 *   reports (a larger group alone); a report waits at most `lingerMs` for others to join an idle
 *   writer's batch.
 * - `onCommitted` is told once per committed batch, after the commit, with the batch's reports in
 *   order and, for each, the last attempt its target had before it (metrics count an attempt once)
 *   and the number its channel gave it.
 */
import { LockgateError } from '@lockgate/core';
import type { TargetAttempt } from '@lockgate/core';
import type { StoresOf } from '../../stores.ts';
import type { StoredReport } from './target-store.ts';

/** The stores this module uses, and no others. */
type UsedStores = StoresOf<'targets'>;

export interface CommittedReport {
  report: StoredReport;
  /** the target's last attempt before this report (stored, or from an earlier report of the batch) */
  previous: TargetAttempt | null;
  /** its number in its channel (`target_reports.seq`) */
  seq: number;
}

export interface ReportQueueOptions {
  stores: UsedStores;
  /** reports that may wait for a batch (default 20,000) */
  capacity?: number;
  /** reports per transaction at most (default 500) */
  maxBatch?: number;
  /** how long an idle writer waits for more reports before it writes (default 2 ms) */
  lingerMs?: number;
  /** whether `onCommitted` needs each report's previous attempt (read by the batch's write) */
  readPrevious?: boolean;
  onCommitted?: (batch: readonly CommittedReport[]) => void;
}

export interface ReportQueue {
  /**
   * Resolves once the reports (one group, in order) are committed; REPORTS_BACKLOGGED when they
   * do not fit the queue.
   */
  submit(...reports: StoredReport[]): Promise<void>;
  /** Reports waiting (not yet in the batch being written). */
  readonly waiting: number;
  /** Resolves when every report submitted so far has been written (or failed). */
  drain(): Promise<void>;
}

interface Pending {
  reports: StoredReport[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

export const REPORT_QUEUE_CAPACITY = 20_000;
export const REPORT_BATCH_MAX = 500;
export const REPORT_LINGER_MS = 2;
const MAX_RETRY_AFTER_SECONDS = 60;

export function createReportQueue(options: ReportQueueOptions): ReportQueue {
  const { stores } = options;
  const capacity = options.capacity ?? REPORT_QUEUE_CAPACITY;
  const maxBatch = options.maxBatch ?? REPORT_BATCH_MAX;
  const lingerMs = options.lingerMs ?? REPORT_LINGER_MS;
  let queue: Pending[] = [];
  /** reports in `queue` */
  let waiting = 0;
  let writing: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  /** reports per second of the last batches written (an exponential average) */
  let rate = 0;
  const drained: (() => void)[] = [];

  const retryAfterSeconds = (): number => {
    const seconds = rate > 0 ? Math.ceil(waiting / rate) : 1;
    return Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(1, seconds));
  };

  const write = async (batch: Pending[]): Promise<void> => {
    const started = performance.now();
    const reports = batch.flatMap((pending) => pending.reports);
    try {
      // Atomic on its own: one statement on PostgreSQL, one transaction on SQLite.
      const written = await stores.targets.recordReports(reports, {
        previous: options.readPrevious === true,
      });
      const seen = new Map(written.previous);
      const next = new Map(written.firstSeqs);
      const committed = reports.map((report) => {
        const previous = seen.get(report.targetId) ?? null;
        if (report.lastAttempt !== undefined) seen.set(report.targetId, report.lastAttempt);
        // numbered in batch order within each channel (WrittenBatch.firstSeqs)
        const key = `${report.env}\n${report.channel}`;
        const seq = next.get(key) ?? 0;
        next.set(key, seq + 1);
        return { report, previous, seq };
      });
      const seconds = Math.max((performance.now() - started) / 1000, 1e-4);
      const batchRate = reports.length / seconds;
      rate = rate === 0 ? batchRate : 0.7 * rate + 0.3 * batchRate;
      for (const pending of batch) pending.resolve();
      options.onCommitted?.(committed);
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    }
  };

  const run = (): void => {
    timer = null;
    if (writing !== null || queue.length === 0) return;
    let taken = 0;
    let size = 0;
    for (const pending of queue) {
      if (taken > 0 && size + pending.reports.length > maxBatch) break;
      taken += 1;
      size += pending.reports.length;
    }
    const batch = queue.slice(0, taken);
    queue = queue.slice(taken);
    waiting -= size;
    writing = write(batch).finally(() => {
      writing = null;
      if (queue.length > 0) {
        run();
      } else {
        for (const done of drained.splice(0)) done();
      }
    });
  };

  return {
    submit(...reports) {
      if (reports.length === 0) return Promise.resolve();
      if (waiting + reports.length > capacity) {
        const seconds = retryAfterSeconds();
        const what = reports.length === 1 ? 'this one' : `these ${reports.length}`;
        return Promise.reject(
          new LockgateError(
            'REPORTS_BACKLOGGED',
            `${waiting} reports wait to be written; send ${what} again in ${seconds} s.`,
            { details: { retryAfterSeconds: seconds, waiting } },
          ),
        );
      }
      return new Promise<void>((resolve, reject) => {
        queue.push({ reports, resolve, reject });
        waiting += reports.length;
        if (writing !== null) return;
        if (waiting >= maxBatch || lingerMs <= 0) {
          if (timer !== null) clearTimeout(timer);
          run();
        } else {
          timer ??= setTimeout(run, lingerMs);
        }
      });
    },
    get waiting() {
      return waiting;
    },
    drain() {
      if (writing === null && queue.length === 0) return Promise.resolve();
      return new Promise((resolve) => drained.push(resolve));
    },
  };
}
