import { generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { noteVerifierOf, parsePrivateKey, verifierKeyString } from '@lockgate/core';
import type { NoteVerifier } from '@lockgate/core';
import type { Stores } from '../../stores.ts';
import type { StoredServerKey } from './server-key-store.ts';

/** The use of the key that signs log entries (DSSE) and checkpoints (signed notes). */
export const TRANSPARENCY_LOG_KEY_USE = 'transparency-log';
/** DATA/log-signing.pub: the log public key (SPKI PEM), written on every start. */
export const LOG_PUBLIC_KEY_FILE = 'log-signing.pub';
/** DATA/log-verifier-key: the log's note verifier key `origin+keyid+base64`, written on start. */
export const LOG_VERIFIER_KEY_FILE = 'log-verifier-key';

export interface LogSigningKey {
  /** hex sha256 of the SPKI DER (the DSSE keyid, like every Lockgate key id) */
  keyId: string;
  privateKey: KeyObject;
  publicKeyPem: string;
  /** the checkpoint origin and note key name: `lockgate/log/<first 16 hex of keyId>` */
  origin: string;
  /** `origin+<note key id>+base64(0x01 || public key)` */
  verifierKey: string;
  verifier: NoteVerifier;
}

export function logOriginOf(keyId: string): string {
  return `lockgate/log/${keyId.slice(0, 16)}`;
}

const parsed = new Map<string, LogSigningKey>();

/**
 * The log key: read from the database, or generated (Ed25519) and stored on first use, in the
 * caller's transaction. Replicas share it: a replica that loses the insert race reads the
 * winner's key. Parsed keys are cached by their PEM.
 */
export async function loadLogKey(
  stores: Pick<Stores, 'serverKeys'>,
  createdAt: string,
): Promise<LogSigningKey> {
  let stored = await stores.serverKeys.findByUse(TRANSPARENCY_LOG_KEY_USE);
  if (stored === null) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await stores.serverKeys.insert({
      keyId: parsePrivateKey(privateKeyPem).publicKey.keyId,
      use: TRANSPARENCY_LOG_KEY_USE,
      privateKeyPem,
      publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      createdAt,
    });
    stored = await stores.serverKeys.findByUse(TRANSPARENCY_LOG_KEY_USE);
    if (stored === null) throw new Error('The transparency-log key vanished after it was stored');
  }
  return logSigningKeyOf(stored);
}

/** The log key of its stored row (parsed once per process, cached by its PEM). */
export function logSigningKeyOf(stored: StoredServerKey): LogSigningKey {
  const cached = parsed.get(stored.privateKeyPem);
  if (cached !== undefined) return cached;
  const { key, publicKey } = parsePrivateKey(stored.privateKeyPem);
  const origin = logOriginOf(publicKey.keyId);
  const signingKey: LogSigningKey = {
    keyId: publicKey.keyId,
    privateKey: key,
    publicKeyPem: publicKey.publicKeyPem,
    origin,
    verifierKey: verifierKeyString(origin, key),
    verifier: noteVerifierOf(origin, key),
  };
  parsed.set(stored.privateKeyPem, signingKey);
  return signingKey;
}
