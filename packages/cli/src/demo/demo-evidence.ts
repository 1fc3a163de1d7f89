/**
 * The end of the demo: each release's evidence bundle exported to a file, then verified offline
 * from that file the way `lockgate evidence verify` does (the same function, with the log's
 * verifier key and the demo build key as the trusted keys), replay of every verdict included.
 *
 * Invariants: the verification reads only the written file and the two keys (no request to the
 * server); a refused bundle is reported with its code and sentence, never thrown.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isLockgateError, parsePublicKey, parseVerifierKey } from '@lockgate/core';
import type { BundleReport } from '@lockgate/core';
import { verifyEvidenceBytes } from '../commands/evidence-command.ts';

export interface DemoEvidence {
  /** where the bundle was written */
  file: string;
  bytes: number;
  /** null when the bundle was refused */
  report: Pick<BundleReport, 'records' | 'treeSize' | 'contexts' | 'replay' | 'outcome'> | null;
  /** the refusal: code and sentence */
  refused: { code: string; message: string } | null;
}

export interface DemoEvidenceInput {
  server: string;
  token: string;
  fetch: typeof fetch;
  release: string;
  label: string;
  /** the directory the bundles are written to */
  dir: string;
  /** the file holding the log's note verifier key (`DATA/log-verifier-key`) */
  logKeyFile: string;
  buildKeyPem: string;
}

/** Exports one release's bundle and verifies the written file offline. */
export async function exportAndVerifyEvidence(input: DemoEvidenceInput): Promise<DemoEvidence> {
  const response = await input.fetch(
    `${input.server}/api/v1/releases/${encodeURIComponent(input.release)}/evidence/bundle`,
    {
      headers: { authorization: `Bearer ${input.token}`, accept: 'application/gzip' },
      signal: AbortSignal.timeout(60_000),
    },
  );
  if (!response.ok) {
    return {
      file: '',
      bytes: 0,
      report: null,
      refused: {
        code: 'SERVER_RESPONSE_INVALID',
        message: `The bundle of ${input.release} was answered with ${response.status}: ${await response.text()}`,
      },
    };
  }
  await mkdir(input.dir, { recursive: true });
  const file = join(input.dir, `${input.label}-${input.release}.tar.gz`);
  await writeFile(file, new Uint8Array(await response.arrayBuffer()));

  // Offline from here: the file and the keys.
  const bytes = await readFile(file);
  const trust = {
    logKey: parseVerifierKey((await readFile(input.logKeyFile, 'utf8')).trim()),
    buildKeys: [parsePublicKey(input.buildKeyPem)],
  };
  try {
    const report = await verifyEvidenceBytes(bytes, trust, 1);
    const { records, treeSize, contexts, replay, outcome } = report;
    return {
      file,
      bytes: bytes.byteLength,
      report: { records, treeSize, contexts, replay, outcome },
      refused: null,
    };
  } catch (error) {
    if (!isLockgateError(error)) throw error;
    return {
      file,
      bytes: bytes.byteLength,
      report: null,
      refused: { code: error.code, message: error.message },
    };
  }
}

/** `ok: 41 records, checkpoint 212; replay 38 of 38 decisions matching (100 %)` or the refusal. */
export function evidenceText(evidence: DemoEvidence): string {
  const { report, refused } = evidence;
  if (report === null) return `REFUSED ${refused?.code ?? '?'}: ${refused?.message ?? ''}`;
  const { replay } = report;
  return `ok: ${report.records} records in the checkpoint of ${report.treeSize}, sealed and complete; replay ${replay.matching} of ${replay.total} decisions matching (${Math.round(replay.matchRate * 1000) / 10} %) on ${report.contexts} context(s)`;
}

/** Whether the bundle verified and every verdict in it replayed. */
export function evidenceOk(evidence: DemoEvidence): boolean {
  return evidence.report !== null && evidence.report.replay.mismatches === 0;
}
