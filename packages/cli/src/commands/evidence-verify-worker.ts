/**
 * A worker thread of `lockgate evidence verify`: checks the records it is given with core
 * `recordVerifier` and posts back their facts, or the first failure (its position, code,
 * message and details).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { LockgateError, recordVerifier } from '@lockgate/core';
import type { RecordCheck, RecordFacts } from '@lockgate/core';

export interface RecordJob {
  check: RecordCheck;
  seqs: number[];
  files: [string, Uint8Array][];
}

export type RecordJobResult =
  | { ok: true; facts: RecordFacts[] }
  | {
      ok: false;
      at: number;
      code: string;
      message: string;
      details: Record<string, unknown>;
    };

function runJob(job: RecordJob): RecordJobResult {
  const files = new Map(job.files);
  const verify = recordVerifier(job.check);
  const facts: RecordFacts[] = [];
  for (const [at, seq] of job.seqs.entries()) {
    try {
      facts.push(verify(files, seq));
    } catch (error) {
      if (!(error instanceof LockgateError)) throw error;
      return { ok: false, at, code: error.code, message: error.message, details: error.details };
    }
  }
  return { ok: true, facts };
}

if (parentPort !== null) parentPort.postMessage(runJob(workerData as RecordJob));
