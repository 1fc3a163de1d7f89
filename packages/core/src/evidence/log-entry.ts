/**
 * A log entry: a decision record's in-toto statement in a DSSE envelope signed by the log key.
 * The Merkle leaf is the statement bytes (the DSSE payload): leaf hash = SHA-256(0x00 ||
 * statement bytes). The envelope signature binds the statement to the log key; the tree binds
 * it to its position.
 */
import type { KeyObject } from 'node:crypto';
import { signEnvelope, verifyEnvelope } from './dsse.ts';
import type { DsseEnvelope } from '../release/channel-index.ts';
import { leafHash } from './merkle.ts';
import { IN_TOTO_PAYLOAD_TYPE, parseStatement, statementBytes } from './statement.ts';
import type { Statement } from './statement.ts';

export interface LogEntry {
  readonly envelope: DsseEnvelope;
  /** the statement bytes: the leaf input */
  readonly leaf: Uint8Array;
  readonly leafHash: Uint8Array;
}

export function logEntryOf(
  statement: Statement,
  signer: { keyId: string; privateKey: KeyObject },
): LogEntry {
  const leaf = statementBytes(statement);
  return {
    envelope: signEnvelope(IN_TOTO_PAYLOAD_TYPE, leaf, signer),
    leaf,
    leafHash: leafHash(leaf),
  };
}

/**
 * Verifies an entry's envelope with the log key (RECORD_SIGNATURE_INVALID, ENVELOPE_INVALID)
 * and returns its statement and leaf hash.
 */
export function openLogEntry(
  envelope: unknown,
  key: { keyId: string; publicKey: KeyObject },
): { statement: Statement; leaf: Uint8Array; leafHash: Uint8Array } {
  const leaf = verifyEnvelope(envelope, key, IN_TOTO_PAYLOAD_TYPE);
  return { statement: parseStatement(leaf), leaf, leafHash: leafHash(leaf) };
}
