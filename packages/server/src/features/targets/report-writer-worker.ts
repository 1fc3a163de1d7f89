/**
 * The report writer's thread (report-writer.ts): a SQLite connection of its own to the server's
 * database file, writing each batch it is sent with the same statements as the main connection
 * would (`writeReportBatch`), in a transaction of its own.
 *
 * Invariants:
 * - One batch at a time, in the order sent; each answered once: what `writeReportBatch` returns
 *   (the targets' attempts before it, the reports' numbers), or the error that rolled it back.
 * - It checkpoints the WAL (the main connection leaves that to it): after its commits, as SQLite
 *   does by default, and every few seconds while reports do not flow.
 */
import { isLockgateError } from '@lockgate/core';
import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteFile, sqliteKysely } from '../../db/sqlite-dialect.ts';
import { silenceSqliteExperimentalWarning } from '../../warnings.ts';
import { writeReportBatch } from './report-batch-write.ts';
import type { ReportWriterReply, ReportWriterRequest } from './report-writer.ts';

/** How often the WAL is checkpointed when no batch commits (a passive checkpoint). */
const CHECKPOINT_EVERY_MS = 5000;

const port = parentPort;
if (port === null) throw new Error('report-writer-worker.ts runs as a worker thread');
const { path } = workerData as { path: string };
// The server's process drops node:sqlite's ExperimentalWarning (cli main.ts); so does this thread.
silenceSqliteExperimentalWarning(process);

const sqlite = await openSqliteFile(path);
const db = sqliteKysely(sqlite);

const checkpoint = setInterval(() => {
  sqlite.exec('PRAGMA wal_checkpoint(PASSIVE)');
}, CHECKPOINT_EVERY_MS);
checkpoint.unref();

port.on('message', (request: ReportWriterRequest) => {
  void answer(request).then((reply) => port.postMessage(reply));
});

async function answer(request: ReportWriterRequest): Promise<ReportWriterReply> {
  try {
    const written = await writeReportBatch(db, request.reports, { previous: request.previous });
    return { id: request.id, written };
  } catch (error) {
    return {
      id: request.id,
      error: isLockgateError(error)
        ? { code: error.code, message: error.message, details: error.details }
        : { message: error instanceof Error ? error.message : String(error) },
    };
  }
}
