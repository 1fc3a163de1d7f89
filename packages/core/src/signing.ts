import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { sha256Hex } from './digest.ts';
import { LockgateError } from './errors.ts';

/** A public key Lockgate trusts, with its id = hex sha256 of the SPKI DER encoding. */
export interface PublicKeyInfo {
  keyId: string;
  publicKeyPem: string;
  key: KeyObject;
}

const ED25519_SIGNATURE_BYTES = 64;

/** Parses an Ed25519 SPKI PEM; throws LockgateError KEY_INVALID otherwise. */
export function parsePublicKey(pem: string): PublicKeyInfo {
  const key = parsePem(pem, 'PUBLIC KEY', (text) => createPublicKey({ key: text, format: 'pem' }));
  return publicKeyInfo(key);
}

/** Parses an Ed25519 PKCS#8 PEM private key; throws KEY_INVALID otherwise. Returns the key and its public half. */
export function parsePrivateKey(pem: string): { key: KeyObject; publicKey: PublicKeyInfo } {
  const key = parsePem(pem, 'PRIVATE KEY', (text) =>
    createPrivateKey({ key: text, format: 'pem' }),
  );
  return { key, publicKey: publicKeyInfo(createPublicKey(key)) };
}

/** hex sha256 of the SPKI DER of a public key. A private key stands for its public half. */
export function keyIdOf(publicKey: KeyObject): string {
  if (publicKey.type === 'secret') {
    throw new LockgateError('KEY_INVALID', 'A key id exists only for an asymmetric key.');
  }
  const pub = publicKey.type === 'public' ? publicKey : createPublicKey(publicKey);
  return sha256Hex(pub.export({ type: 'spki', format: 'der' }));
}

/** Ed25519 signature (base64) of bytes. Deterministic. */
export function signBytes(bytes: Uint8Array, privateKey: KeyObject): string {
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
    throw new LockgateError('KEY_INVALID', 'Signing needs an Ed25519 private key.');
  }
  return sign(null, bytes, privateKey).toString('base64');
}

/** True when the base64 Ed25519 signature over bytes verifies with the public key. Never throws for bad input. */
export function verifyBytes(
  bytes: Uint8Array,
  signatureBase64: string,
  publicKey: KeyObject,
): boolean {
  try {
    if (publicKey.type !== 'public' || publicKey.asymmetricKeyType !== 'ed25519') return false;
    if (typeof signatureBase64 !== 'string') return false;
    const signature = Buffer.from(signatureBase64, 'base64');
    // Buffer.from skips characters that are not base64; only the one canonical spelling counts.
    if (signature.length !== ED25519_SIGNATURE_BYTES) return false;
    if (signature.toString('base64') !== signatureBase64) return false;
    return verify(null, bytes, publicKey, signature);
  } catch {
    return false;
  }
}

function parsePem<K extends KeyObject>(pem: string, label: string, parse: (text: string) => K): K {
  const text = typeof pem === 'string' ? pem.trim() : '';
  // createPublicKey also accepts private keys and certificates; the label says what was given.
  if (!text.startsWith(`-----BEGIN ${label}-----`) || !text.endsWith(`-----END ${label}-----`)) {
    throw new LockgateError('KEY_INVALID', `The key is not a PEM block labelled ${label}.`);
  }
  let key: K;
  try {
    key = parse(text);
  } catch (cause) {
    throw new LockgateError('KEY_INVALID', `The ${label} PEM does not parse.`, { cause });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new LockgateError(
      'KEY_INVALID',
      `The key is ${key.asymmetricKeyType ?? 'unknown'}, not Ed25519.`,
      {
        details: { keyType: key.asymmetricKeyType ?? null },
      },
    );
  }
  return key;
}

function publicKeyInfo(key: KeyObject): PublicKeyInfo {
  const publicKeyPem = key.export({ type: 'spki', format: 'pem' }).toString();
  return { keyId: keyIdOf(key), publicKeyPem, key };
}
