/**
 * DSSE v1 envelopes (github.com/secure-systems-lab/dsse) with Ed25519 signatures.
 *
 * PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, LEN the ASCII decimal
 * byte length (`preAuthEncoding`, shared with the channel index). Signatures are over PAE,
 * never over the bare payload.
 */
import type { KeyObject } from 'node:crypto';
import { LockgateError } from '../errors.ts';
import { signBytes, verifyBytes } from '../signing.ts';
import { preAuthEncoding } from '../release/channel-index.ts';
import type { DsseEnvelope, DsseSignature } from '../release/channel-index.ts';
import { strictBase64 } from './signed-note.ts';

export function signEnvelope(
  payloadType: string,
  payload: Uint8Array,
  signer: { keyId: string; privateKey: KeyObject },
): DsseEnvelope {
  return {
    payload: Buffer.from(payload).toString('base64'),
    payloadType,
    signatures: [
      {
        keyid: signer.keyId,
        sig: signBytes(preAuthEncoding(payloadType, payload), signer.privateKey),
      },
    ],
  };
}

/** Checks the shape of an untrusted envelope; throws ENVELOPE_INVALID. Returns payload bytes. */
export function envelopePayload(value: unknown): { envelope: DsseEnvelope; payload: Uint8Array } {
  const fail = (why: string): never => {
    throw new LockgateError('ENVELOPE_INVALID', `The DSSE envelope is malformed: ${why}.`);
  };
  if (typeof value !== 'object' || value === null) return fail('not an object');
  const { payload, payloadType, signatures } = value as Record<string, unknown>;
  if (typeof payloadType !== 'string' || payloadType === '') return fail('no payloadType');
  if (typeof payload !== 'string') return fail('no payload');
  const bytes = strictBase64(payload);
  if (bytes === null) return fail('the payload is not canonical base64');
  if (!Array.isArray(signatures) || signatures.length === 0) return fail('no signatures');
  for (const s of signatures as unknown[]) {
    const { keyid, sig } = (s ?? {}) as Record<string, unknown>;
    if (typeof keyid !== 'string' || typeof sig !== 'string') {
      return fail('a signature lacks keyid or sig');
    }
  }
  return {
    envelope: { payload, payloadType, signatures: signatures as DsseSignature[] },
    payload: bytes,
  };
}

/**
 * Verifies that a signature with `keyId` over the envelope's PAE verifies with the key.
 * RECORD_SIGNATURE_INVALID otherwise. Returns the payload bytes.
 */
export function verifyEnvelope(
  value: unknown,
  key: { keyId: string; publicKey: KeyObject },
  payloadType?: string,
): Uint8Array {
  const { envelope, payload } = envelopePayload(value);
  if (payloadType !== undefined && envelope.payloadType !== payloadType) {
    throw new LockgateError(
      'ENVELOPE_INVALID',
      `The envelope payloadType is ${envelope.payloadType}, not ${payloadType}.`,
    );
  }
  const pae = preAuthEncoding(envelope.payloadType, payload);
  const ok = envelope.signatures.some(
    (s) => s.keyid === key.keyId && verifyBytes(pae, s.sig, key.publicKey),
  );
  if (!ok) {
    throw new LockgateError(
      'RECORD_SIGNATURE_INVALID',
      'No signature on the envelope verifies with the log key.',
      { details: { keyId: key.keyId } },
    );
  }
  return payload;
}
