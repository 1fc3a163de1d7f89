/**
 * Report batches written on SQLite by a worker thread with a connection of its own, so that the
 * statements and the commit's `fsync` of the server's busiest writes (reports at a fleet's rate)
 * run beside the event loop rather than on it (`node:sqlite` is synchronous). ADR 0023.
 *
 * Invariants:
 * - A batch is written in a turn at the file (`SqliteTurns`) that the main connection takes for
 *   each of its queries and transactions: the two connections never wait on each other's write
 *   lock, and a batch's rows are visible to the main connection's next read once it resolves.
 *   The turn is asked for in a later turn of the event loop than `write` was called in.
 * - `write` resolves after the batch committed, with what `writeReportBatch` returns, or rejects
 *   with the error that rolled it back (a LockgateError keeps its code and details).
 * - A thread that stops (crash, terminate) fails the batch in flight and the next write starts a
 *   new one; `close` fails what waits and stops the thread.
 */
import { LockgateError } from '@lockgate/core';
import type { ErrorCode } from '@lockgate/core';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { Worker } from 'node:worker_threads';
import type { Database } from '../../db/schema.ts';
import type { SqliteTurns } from '../../db/sqlite-dialect.ts';
import type { WrittenBatch } from './report-batch-write.ts';
import type { StoredReport } from './target-store.ts';

export interface ReportWriterRequest {
  id: number;
  reports: readonly StoredReport[];
  previous: boolean;
}

export type ReportWriterReply =
  | { id: number; written: WrittenBatch }
  | {
      id: number;
      error: { code?: ErrorCode; message: string; details?: Record<string, unknown> };
    };

export interface ReportBatchWriter {
  write(reports: readonly StoredReport[], options: { previous: boolean }): Promise<WrittenBatch>;
  /** Fails what waits and stops the thread. Safe to call more than once. */
  close(): Promise<void>;
}

const WORKER = new URL('./report-writer-worker.ts', import.meta.url);

interface InFlight {
  resolve: (written: WrittenBatch) => void;
  reject: (error: Error) => void;
}

/**
 * Starts the writer's thread for the SQLite file `db` is connected to, and leaves the WAL's
 * checkpoints to it: a checkpoint after one of `db`'s commits would copy the reports' pages with
 * the event loop blocked.
 */
export async function startReportBatchWriter(
  db: Kysely<Database>,
  sqlite: { path: string; turns: SqliteTurns },
): Promise<ReportBatchWriter> {
  const { path, turns } = sqlite;
  await sql`pragma wal_autocheckpoint = 0`.execute(db);
  let worker: Worker | null = null;
  let closed = false;
  let nextId = 1;
  const inFlight = new Map<number, InFlight>();

  const failAll = (error: Error): void => {
    for (const pending of inFlight.values()) pending.reject(error);
    inFlight.clear();
  };

  const start = (): Worker => {
    const started = new Worker(WORKER, { workerData: { path } });
    started.unref();
    started.on('message', (reply: ReportWriterReply) => {
      const pending = inFlight.get(reply.id);
      if (pending === undefined) return;
      inFlight.delete(reply.id);
      if ('error' in reply) {
        const { code, message, details } = reply.error;
        pending.reject(
          code === undefined
            ? new Error(message)
            : new LockgateError(code, message, details === undefined ? {} : { details }),
        );
      } else {
        pending.resolve(reply.written);
      }
    });
    const stopped = (error: Error): void => {
      // Its 'exit' follows its 'error': by then a later thread may hold batches of its own.
      if (worker !== started && worker !== null) return;
      worker = null;
      failAll(error);
    };
    started.on('error', (error: Error) => stopped(error));
    started.on('exit', (code) =>
      stopped(new Error(`the report writer stopped (exit code ${code})`)),
    );
    return started;
  };

  worker = start();
  return {
    async write(reports, options) {
      // The turn is asked for from a later turn of the event loop: queries the main connection
      // runs back to back (a command's reads, then its transaction) go on before the next batch
      // rather than each waiting for one (the report queue sends a batch as the last resolves).
      await new Promise<void>((resolve) => setImmediate(resolve));
      return turns.run(
        () =>
          new Promise<WrittenBatch>((resolve, reject) => {
            if (closed) {
              reject(new Error('the report writer is closed'));
              return;
            }
            worker ??= start();
            const id = nextId++;
            inFlight.set(id, { resolve, reject });
            const request: ReportWriterRequest = { id, reports, previous: options.previous };
            worker.postMessage(request);
          }),
      );
    },
    async close() {
      if (closed) return;
      closed = true;
      failAll(new Error('the report writer is closed'));
      const stopping = worker;
      worker = null;
      await stopping?.terminate();
    },
  };
}
