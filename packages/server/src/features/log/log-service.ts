import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  consistencyPlan,
  equalBytes,
  formatCheckpoint,
  inclusionPlan,
  LockgateError,
  NOTE_COSIGNATURE_V1,
  nodeKey,
  parseNote,
  parseVerifierKey,
  planNodes,
  rangeRoot,
  resolvePlan,
  rootPlan,
  signNote,
  verifyConsistency,
  verifyCosignature,
} from '@lockgate/core';
import type { DsseEnvelope, NodeRef, NoteVerifier, ProofPlan } from '@lockgate/core';
import type { Clock } from '../../clock.ts';
import type { ServerConfig } from '../../config.ts';
import type { StoresOf } from '../../stores.ts';
import { loadLogKey } from '../server-keys/public.ts';
import type { StoredCheckpoint } from './log-store.ts';

/** DATA/log-witnesses: the witnesses whose cosignatures the server keeps, one vkey a line. */
export const LOG_WITNESSES_FILE = 'log-witnesses';
/** At most one new checkpoint per this many milliseconds. */
export const CHECKPOINT_MIN_INTERVAL_MS = 1000;

export interface LogKeyView {
  origin: string;
  /** the note verifier key */
  verifierKey: string;
  /** hex sha256 of the SPKI DER: the DSSE keyid */
  keyId: string;
  publicKeyPem: string;
}

export interface LogEntryView {
  seq: number;
  leafIndex: number;
  leafHash: string;
  envelope: DsseEnvelope;
}

export interface InclusionProofView {
  seq: number;
  leafIndex: number;
  treeSize: number;
  leafHash: string;
  rootHash: string;
  proof: string[];
}

export interface ConsistencyProofView {
  from: number;
  to: number;
  proof: string[];
}

export interface LogService {
  key(): Promise<LogKeyView>;
  /**
   * The latest checkpoint as a signed note with its cosignatures. When the tree grew and the
   * last checkpoint is older than CHECKPOINT_MIN_INTERVAL_MS (or there is none), a new one is
   * signed first, after checking it is consistent with the last.
   */
  checkpoint(): Promise<{ size: number; note: string }>;
  entry(seq: number): Promise<LogEntryView>;
  /** Audit path of record `seq` in the tree of `size` leaves (default: the latest checkpoint). */
  inclusion(seq: number, size?: number): Promise<InclusionProofView>;
  consistency(from: number, to: number): Promise<ConsistencyProofView>;
  /** Stored checkpoints (log-signed notes, without cosignatures) with size > after, oldest first. */
  checkpoints(
    after: number,
    limit: number,
  ): Promise<{ size: number; note: string; createdAt: string }[]>;
  /** Verifies a witness cosignature of a stored checkpoint and keeps it. */
  addCosignature(input: { checkpoint: string; cosignature: string }): Promise<{
    size: number;
    witness: string;
  }>;
  /**
   * A checkpoint (with its cosignatures) of at least `size` leaves, for an evidence bundle: of
   * the stored ones that cover it, the most cosigned, then the largest; a new one is signed when
   * none covers it yet (the rate bound does not hold back an export).
   */
  checkpointCovering(size: number): Promise<{ size: number; note: string }>;
  /** The witness verifier keys the server trusts (DATA/log-witnesses). */
  witnessKeys(): Promise<string[]>;
  /** How many rows the last proof read (for the benchmark's read count). */
  readonly lastNodeReads: number;
}

export function createLogService(deps: {
  config: Pick<ServerConfig, 'dataDir'>;
  stores: StoresOf<'log' | 'serverKeys'>;
  clock: Clock;
}): LogService {
  const { config, stores, clock } = deps;
  let lastNodeReads = 0;

  const key = () => loadLogKey(stores, clock().toISOString());

  const resolve = async (plan: ProofPlan): Promise<Uint8Array[]> => {
    const refs = planNodes(plan);
    const found = await stores.log.nodes(refs);
    lastNodeReads = refs.length;
    return resolvePlan(plan, (ref: NodeRef) => {
      const hash = found.get(nodeKey(ref));
      if (hash === undefined) {
        throw new LockgateError('INTERNAL', 'A stored subtree hash of the log is missing.', {
          details: { level: ref.level, index: ref.index },
        });
      }
      return hash;
    });
  };

  const treeSize = async (): Promise<number> => (await stores.log.head()).size;

  const withCosignatures = async (checkpoint: StoredCheckpoint): Promise<string> => {
    const lines = await stores.log.cosignatures(checkpoint.size);
    return checkpoint.note + lines.map((c) => c.line).join('');
  };

  const makeCheckpoint = async (previous: StoredCheckpoint | null): Promise<StoredCheckpoint> => {
    const signing = await key();
    const head = await stores.log.head();
    const rootHash = rangeRoot(head);
    if (previous !== null && previous.size > 0 && previous.size < head.size) {
      const proof = await resolve(consistencyPlan(previous.size, head.size));
      if (!verifyConsistency(previous.size, head.size, previous.rootHash, rootHash, proof)) {
        throw new LockgateError(
          'LOG_SPLIT_VIEW',
          'The stored tree is not consistent with the last checkpoint; no new checkpoint is signed.',
          { details: { previousSize: previous.size, size: head.size } },
        );
      }
    }
    const body = formatCheckpoint({
      origin: signing.origin,
      size: head.size,
      rootHash,
      extensions: [],
    });
    const checkpoint: StoredCheckpoint = {
      size: head.size,
      rootHash,
      note: signNote(body, signing.origin, signing.privateKey),
      createdAt: clock().toISOString(),
    };
    await stores.log.insertCheckpoint(checkpoint);
    return (await stores.log.checkpoint(head.size)) ?? checkpoint;
  };

  const currentCheckpoint = async (): Promise<StoredCheckpoint> => {
    const latest = await stores.log.latestCheckpoint();
    const size = await treeSize();
    if (latest !== null && latest.size >= size) return latest;
    if (latest !== null) {
      const age = clock().getTime() - Date.parse(latest.createdAt);
      if (age < CHECKPOINT_MIN_INTERVAL_MS) return latest;
    }
    return makeCheckpoint(latest);
  };

  const witnesses = async (): Promise<NoteVerifier[]> => {
    let text: string;
    try {
      text = await readFile(join(config.dataDir, LOG_WITNESSES_FILE), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map(parseVerifierKey)
      .filter((v) => v.type === NOTE_COSIGNATURE_V1);
  };

  const checkSeq = (seq: number, size: number): void => {
    if (!Number.isSafeInteger(seq) || seq < 1 || seq > size) {
      throw new LockgateError(
        'LOG_SIZE_INVALID',
        `seq ${seq} is not in a tree of ${size} leaves.`,
        {
          details: { seq, size },
        },
      );
    }
  };

  return {
    get lastNodeReads() {
      return lastNodeReads;
    },

    async key() {
      const signing = await key();
      return {
        origin: signing.origin,
        verifierKey: signing.verifierKey,
        keyId: signing.keyId,
        publicKeyPem: signing.publicKeyPem,
      };
    },

    async checkpoint() {
      const checkpoint = await currentCheckpoint();
      return { size: checkpoint.size, note: await withCosignatures(checkpoint) };
    },

    async entry(seq) {
      const entry = await stores.log.entry(seq);
      if (entry === null) {
        throw new LockgateError('LOG_ENTRY_NOT_FOUND', `The log has no entry ${seq}.`, {
          details: { seq },
        });
      }
      return {
        seq,
        leafIndex: seq - 1,
        leafHash: Buffer.from(entry.leafHash).toString('base64'),
        envelope: entry.envelope,
      };
    },

    async inclusion(seq, size) {
      const treeSizeNow = await treeSize();
      const at = size ?? (await currentCheckpoint()).size;
      if (!Number.isSafeInteger(at) || at > treeSizeNow) {
        throw new LockgateError(
          'LOG_SIZE_INVALID',
          `The log has ${treeSizeNow} leaves, not ${at}.`,
          { details: { size: at, treeSize: treeSizeNow } },
        );
      }
      checkSeq(seq, at);
      const plan = inclusionPlan(seq - 1, at);
      const root = rootPlan(at);
      // one read for the path, the root and the leaf together
      const leafRef = { level: 0, index: seq - 1 };
      const all = [...plan, ...root, [leafRef]];
      const hashes = await resolve(all);
      const b64 = (bytes: Uint8Array | undefined): string =>
        Buffer.from(bytes ?? []).toString('base64');
      return {
        seq,
        leafIndex: seq - 1,
        treeSize: at,
        leafHash: b64(hashes[all.length - 1]),
        rootHash: b64(hashes[plan.length]),
        proof: hashes.slice(0, plan.length).map(b64),
      };
    },

    async consistency(from, to) {
      const size = await treeSize();
      if (
        !Number.isSafeInteger(from) ||
        !Number.isSafeInteger(to) ||
        from < 1 ||
        from > to ||
        to > size
      ) {
        throw new LockgateError(
          'LOG_SIZE_INVALID',
          `A consistency proof needs 1 <= from <= to <= ${size}.`,
          { details: { from, to, treeSize: size } },
        );
      }
      const proof = await resolve(consistencyPlan(from, to));
      return { from, to, proof: proof.map((h) => Buffer.from(h).toString('base64')) };
    },

    async checkpointCovering(size) {
      let best: { checkpoint: StoredCheckpoint; cosigned: number } | null = null;
      for (const checkpoint of await stores.log.checkpoints()) {
        if (checkpoint.size < size) continue;
        const cosigned = (await stores.log.cosignatures(checkpoint.size)).length;
        if (best === null || cosigned >= best.cosigned) best = { checkpoint, cosigned };
      }
      const chosen =
        best?.checkpoint ?? (await makeCheckpoint(await stores.log.latestCheckpoint()));
      if (chosen.size < size) {
        throw new LockgateError('LOG_SIZE_INVALID', `The log has fewer than ${size} leaves.`, {
          details: { size, treeSize: chosen.size },
        });
      }
      return { size: chosen.size, note: await withCosignatures(chosen) };
    },

    async witnessKeys() {
      return (await witnesses()).map((w) =>
        [
          w.name,
          Buffer.from(w.keyId).toString('hex'),
          Buffer.concat([Uint8Array.of(w.type), w.publicKey]).toString('base64'),
        ].join('+'),
      );
    },

    async checkpoints(after, limit) {
      const all = await stores.log.checkpoints();
      return all
        .filter((c) => c.size > after)
        .slice(0, limit)
        .map((c) => ({ size: c.size, note: c.note, createdAt: c.createdAt }));
    },

    async addCosignature(input) {
      const body = input.checkpoint.endsWith('\n') ? input.checkpoint : `${input.checkpoint}\n`;
      // the body alone, or a whole note whose text is the body
      const text = body.includes('\n\n') ? parseNote(body).text : body;
      const line = input.cosignature.endsWith('\n') ? input.cosignature : `${input.cosignature}\n`;
      const [signature] = parseNote(`${text}\n${line}`).signatures;
      if (signature === undefined || parseNote(`${text}\n${line}`).signatures.length !== 1) {
        throw new LockgateError('COSIGNATURE_INVALID', 'Post exactly one cosignature line.');
      }
      const size = Number(text.split('\n')[1]);
      const stored = Number.isSafeInteger(size) ? await stores.log.checkpoint(size) : null;
      if (stored === null || parseNote(stored.note).text !== text) {
        throw new LockgateError(
          'COSIGNATURE_INVALID',
          'The cosigned checkpoint is not one this log signed.',
          { details: { size: Number.isSafeInteger(size) ? size : null } },
        );
      }
      const witness = (await witnesses()).find(
        (w) => w.name === signature.name && equalBytes(w.keyId, signature.keyId),
      );
      if (witness === undefined) {
        throw new LockgateError(
          'COSIGNATURE_INVALID',
          `${signature.name} is not a witness this server is configured to trust.`,
          { details: { witness: signature.name } },
        );
      }
      const timestamp = verifyCosignature(text, signature, witness);
      await stores.log.putCosignature({
        size,
        witness: witness.name,
        keyId: Buffer.from(witness.keyId).toString('hex'),
        line,
        timestamp,
        createdAt: clock().toISOString(),
      });
      return { size, witness: witness.name };
    },
  };
}
