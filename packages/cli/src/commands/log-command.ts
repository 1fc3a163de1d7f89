import type { Command } from 'commander';
import {
  canonicalBytes,
  digestOf,
  equalBytes,
  LockgateError,
  noteVerifierOf,
  openLogEntry,
  parsePublicKey,
  parseVerifierKey,
  rootOfLeafHashes,
  verifyCheckpoint,
  verifyConsistency,
} from '@lockgate/core';
import { addServerOptions } from '../command-context.ts';
import type { CommandContext, ServerOptions } from '../command-context.ts';
import { printResult } from '../output.ts';
import { logClientFor, logKeyOption } from './log-client.ts';

interface VerifyOptions extends ServerOptions {
  logKey?: string;
}

export interface LogFigures {
  origin: string;
  entries: number;
  checkpoints: number;
  checkpointSize: number;
  cosignatures: number;
  seconds: number;
  entriesPerSecond: number;
  /** whether the log key was pinned with --log-key (else the key the server presented) */
  keyPinned: boolean;
}

/**
 * Checks a whole log on a running server: the latest checkpoint's signature; every entry's
 * DSSE signature by the log key, its leaf hash, its record's own digest and its link to the
 * previous record (the hash chain); the tree root over all leaves against the checkpoint; and
 * every stored checkpoint against the leaves and, through the server's consistency proofs,
 * against the one before. Fails with the code of the first problem found.
 */
export async function verifyLog(
  context: CommandContext,
  options: VerifyOptions,
): Promise<LogFigures> {
  const log = logClientFor(context, options);
  const started = performance.now();
  const key = await log.key();
  const presented = parseVerifierKey(key.verifierKey);
  const verifier =
    options.logKey === undefined ? presented : await logKeyOption(context, options.logKey);
  if (options.logKey !== undefined && !equalBytes(verifier.publicKey, presented.publicKey)) {
    throw new LockgateError(
      'CHECKPOINT_SIGNER_UNTRUSTED',
      'The server presents another log key than --log-key.',
    );
  }
  const publicKey = parsePublicKey(key.publicKeyPem);
  if (!equalBytes(noteVerifierOf(verifier.name, publicKey.key).publicKey, verifier.publicKey)) {
    throw new LockgateError('KEY_INVALID', 'The log PEM and the verifier key are different keys.');
  }
  const latestNote = await log.checkpoint();
  const { checkpoint, note } = verifyCheckpoint(latestNote, verifier);
  const leaves: Uint8Array[] = [];
  let previousDigest: string | null = null;
  for (let seq = 1; seq <= checkpoint.size; seq++) {
    const entry = await log.entry(seq);
    const opened = openLogEntry(entry.envelope, {
      keyId: publicKey.keyId,
      publicKey: publicKey.key,
    });
    if (Buffer.from(opened.leafHash).toString('base64') !== entry.leafHash) {
      throw new LockgateError(
        'RECORD_NOT_INCLUDED',
        `Entry ${seq}: the leaf hash served is not the statement's.`,
        {
          details: { seq },
        },
      );
    }
    const record = opened.statement.predicate as {
      seq?: unknown;
      digest?: unknown;
      prevDigest?: unknown;
    };
    const { seq: recordSeq, digest, ...unsealed } = record;
    if (recordSeq !== seq || typeof digest !== 'string') {
      throw new LockgateError('RECORD_MISSING', `Entry ${seq} holds record ${String(recordSeq)}.`, {
        details: { seq },
      });
    }
    if (digestOf(canonicalBytes(unsealed)) !== digest || record.prevDigest !== previousDigest) {
      throw new LockgateError('RECORD_MISSING', `Record ${seq} breaks the hash chain.`, {
        details: { seq },
      });
    }
    previousDigest = digest;
    leaves.push(opened.leafHash);
  }
  if (checkpoint.size > 0 && !equalBytes(rootOfLeafHashes(leaves), checkpoint.rootHash)) {
    throw new LockgateError(
      'RECORD_NOT_INCLUDED',
      'The tree over the entries does not have the checkpoint root.',
    );
  }
  let stored = 0;
  let before: { size: number; root: Uint8Array } | null = null;
  for (let after = 0; ;) {
    const page = await log.checkpoints(after);
    if (page.length === 0) break;
    for (const item of page) {
      const { checkpoint: old } = verifyCheckpoint(item.note, verifier);
      if (old.size > checkpoint.size) continue; // signed after the one verified above
      const expected =
        old.size === 0 ? rootOfLeafHashes([]) : rootOfLeafHashes(leaves.slice(0, old.size));
      if (!equalBytes(expected, old.rootHash)) {
        throw new LockgateError(
          'LOG_SPLIT_VIEW',
          `Stored checkpoint ${old.size} does not match the entries.`,
          {
            details: { size: old.size },
          },
        );
      }
      if (before !== null && before.size > 0 && before.size < old.size) {
        const proof = (await log.consistency(before.size, old.size)).map((p) =>
          Buffer.from(p, 'base64'),
        );
        if (!verifyConsistency(before.size, old.size, before.root, old.rootHash, proof)) {
          throw new LockgateError(
            'LOG_SPLIT_VIEW',
            `Checkpoints ${before.size} and ${old.size} are not consistent.`,
            {
              details: { from: before.size, to: old.size },
            },
          );
        }
      }
      before = { size: old.size, root: old.rootHash };
      stored += 1;
      after = old.size;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    origin: checkpoint.origin,
    entries: checkpoint.size,
    checkpoints: stored,
    checkpointSize: checkpoint.size,
    cosignatures: note.signatures.length - 1,
    seconds: Math.round(seconds * 1000) / 1000,
    entriesPerSecond: seconds > 0 ? Math.round(checkpoint.size / seconds) : 0,
    keyPinned: options.logKey !== undefined,
  };
}

export function registerLogCommands(program: Command, context: CommandContext): void {
  const log = program.command('log').description('the transparency log of decision records');
  addServerOptions(
    log
      .command('verify')
      .description('check the whole log on a server: signatures, chain, tree, checkpoints')
      .option('--log-key <VKEY>', "pin the log's verifier key (or a file holding it)"),
  ).action(async (options: VerifyOptions) => {
    const figures = await verifyLog(context, options);
    const lines = [
      `log ${figures.origin}: ok`,
      `entries            ${figures.entries} (signatures, leaf hashes, hash chain, root)`,
      `checkpoints        ${figures.checkpoints} stored, each matching the entries and consistent with the one before`,
      `cosignatures       ${figures.cosignatures} on the latest checkpoint`,
      `time               ${figures.seconds} s (${figures.entriesPerSecond} entries/s)`,
    ];
    if (!figures.keyPinned)
      lines.push('note: the log key was the one the server presents; pin it with --log-key');
    printResult(context.io, options.json === true, lines.join('\n'), figures);
  });
}
