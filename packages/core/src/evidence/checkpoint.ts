/**
 * C2SP tlog-checkpoint bodies and C2SP tlog-cosignature/v1 (Ed25519, type 0x04).
 *
 * Body: `<origin>\n<decimal size>\n<base64 root hash>\n` then optional non-empty extension
 * lines. A cosignature line is a note signature whose bytes after the key id are
 * `u64 big-endian timestamp || Ed25519 signature` over
 * `cosignature/v1\ntime <timestamp>\n` + the whole checkpoint body.
 */
import { sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { LockgateError } from '../errors.ts';
import { HASH_BYTES } from './merkle.ts';
import {
  NOTE_COSIGNATURE_V1,
  noteKeyId,
  parseNote,
  rawPublicKey,
  signaturesBy,
  signatureLine,
  strictBase64,
  verifyNote,
} from './signed-note.ts';
import type { Note, NoteSignature, NoteVerifier } from './signed-note.ts';

export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
  readonly extensions: readonly string[];
}

export function formatCheckpoint(checkpoint: Checkpoint): string {
  const { origin, size, rootHash, extensions } = checkpoint;
  if (origin.length === 0 || /[\n\r]/.test(origin)) {
    throw new LockgateError('CHECKPOINT_INVALID', 'A checkpoint origin is one non-empty line.');
  }
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new LockgateError('CHECKPOINT_INVALID', 'A checkpoint size is a non-negative integer.');
  }
  if (rootHash.length !== HASH_BYTES) {
    throw new LockgateError('CHECKPOINT_INVALID', 'A checkpoint root hash is 32 bytes.');
  }
  for (const line of extensions) {
    if (line.length === 0 || /[\n\r]/.test(line)) {
      throw new LockgateError('CHECKPOINT_INVALID', 'An extension line is one non-empty line.');
    }
  }
  const lines = [origin, String(size), Buffer.from(rootHash).toString('base64'), ...extensions];
  return `${lines.join('\n')}\n`;
}

/** Parses a checkpoint body (the text of a note); throws CHECKPOINT_INVALID. */
export function parseCheckpoint(text: string): Checkpoint {
  const fail = (why: string): never => {
    throw new LockgateError('CHECKPOINT_INVALID', `The checkpoint is malformed: ${why}.`);
  };
  if (!text.endsWith('\n')) return fail('it does not end in a newline');
  const lines = text.slice(0, -1).split('\n');
  const [origin, sizeText, rootText, ...extensions] = lines;
  if (origin === undefined || origin === '') return fail('no origin line');
  if (sizeText === undefined || !/^(0|[1-9][0-9]{0,15})$/.test(sizeText)) {
    return fail('the size is not a decimal without leading zeros');
  }
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) return fail('the size is too large');
  const rootHash = rootText === undefined ? null : strictBase64(rootText);
  if (rootHash === null || rootHash.length !== HASH_BYTES) {
    return fail('the root hash is not base64 of 32 bytes');
  }
  if (extensions.some((line) => line === '')) return fail('an extension line is empty');
  return { origin, size, rootHash, extensions };
}

/** A verified checkpoint with its note. */
export interface SignedCheckpoint {
  readonly checkpoint: Checkpoint;
  readonly note: Note;
}

/**
 * Verifies a checkpoint note with the log's verifier and parses its body. The origin must be
 * the log key's name unless `origin` says otherwise.
 */
export function verifyCheckpoint(
  noteText: string,
  logKey: NoteVerifier,
  origin: string = logKey.name,
): SignedCheckpoint {
  const note = verifyNote(noteText, logKey);
  const checkpoint = parseCheckpoint(note.text);
  if (checkpoint.origin !== origin) {
    throw new LockgateError(
      'CHECKPOINT_SIGNER_UNTRUSTED',
      `The checkpoint is of log ${checkpoint.origin}, not ${origin}.`,
      { details: { origin: checkpoint.origin, expected: origin } },
    );
  }
  return { checkpoint, note };
}

/** `cosignature/v1\ntime <t>\n` + body: what a witness signs. */
export function cosignedMessage(body: string, timestamp: number): Buffer {
  checkTimestamp(timestamp);
  return Buffer.from(`cosignature/v1\ntime ${timestamp}\n${body}`, 'utf8');
}

/** A witness's cosignature of a checkpoint body, as a note signature. */
export function cosign(
  body: string,
  witnessName: string,
  privateKey: KeyObject,
  timestamp: number,
): NoteSignature {
  const keyId = noteKeyId(witnessName, NOTE_COSIGNATURE_V1, rawPublicKey(privateKey));
  const signature = sign(null, cosignedMessage(body, timestamp), privateKey);
  const stamped = Buffer.alloc(8 + signature.length);
  stamped.writeBigUInt64BE(BigInt(timestamp), 0);
  signature.copy(stamped, 8);
  return { name: witnessName, keyId, signature: stamped };
}

export function cosignatureLine(
  body: string,
  witnessName: string,
  privateKey: KeyObject,
  timestamp: number,
): string {
  return signatureLine(cosign(body, witnessName, privateKey, timestamp));
}

/**
 * Verifies one cosignature of a body with a witness verifier (type 0x04); returns its
 * timestamp. COSIGNATURE_INVALID when it is not by that witness or does not verify.
 */
export function verifyCosignature(
  body: string,
  signature: NoteSignature,
  witness: NoteVerifier,
): number {
  const fail = (why: string): never => {
    throw new LockgateError('COSIGNATURE_INVALID', `The cosignature ${why}.`, {
      details: { witness: signature.name },
    });
  };
  if (witness.type !== NOTE_COSIGNATURE_V1) return fail('key is not a cosignature/v1 key');
  if (
    signature.name !== witness.name ||
    !Buffer.from(signature.keyId).equals(Buffer.from(witness.keyId))
  ) {
    return fail('is not by this witness');
  }
  if (signature.signature.length !== 8 + 64) return fail('is not a timestamped Ed25519 signature');
  const bytes = Buffer.from(signature.signature);
  const stamp = bytes.readBigUInt64BE(0);
  if (stamp > BigInt(Number.MAX_SAFE_INTEGER)) return fail('timestamp is out of range');
  const timestamp = Number(stamp);
  if (!verify(null, cosignedMessage(body, timestamp), witness.key, bytes.subarray(8))) {
    return fail('does not verify');
  }
  return timestamp;
}

/**
 * The witnesses (of the given trusted ones) whose cosignatures on the note verify. Lines by
 * unknown keys are ignored; a line by a trusted key that does not verify throws.
 */
export function verifiedWitnesses(note: Note, witnesses: readonly NoteVerifier[]): string[] {
  const names: string[] = [];
  for (const witness of witnesses) {
    const lines = signaturesBy(note, witness);
    for (const line of lines) verifyCosignature(note.text, line, witness);
    if (lines.length > 0) names.push(witness.name);
  }
  return names;
}

/** Throws WITNESS_QUORUM_NOT_MET unless at least `min` trusted witnesses cosigned. */
export function requireWitnessQuorum(
  noteText: string,
  witnesses: readonly NoteVerifier[],
  min: number,
): string[] {
  const names = verifiedWitnesses(parseNote(noteText), witnesses);
  if (names.length < min) {
    throw new LockgateError(
      'WITNESS_QUORUM_NOT_MET',
      `${names.length} of the trusted witnesses cosigned the checkpoint; ${min} are required.`,
      { details: { cosigned: names, required: min } },
    );
  }
  return names;
}

function checkTimestamp(timestamp: number): void {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new LockgateError('COSIGNATURE_INVALID', 'A cosignature timestamp is a POSIX second.');
  }
}
