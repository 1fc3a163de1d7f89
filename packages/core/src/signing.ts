import type { KeyObject } from 'node:crypto';

/** A public key Lockgate trusts, with its id = hex sha256 of the SPKI DER encoding. */
export interface PublicKeyInfo {
  keyId: string;
  publicKeyPem: string;
  key: KeyObject;
}

/** Parses an Ed25519 SPKI PEM; throws LockgateError KEY_INVALID otherwise. */
export function parsePublicKey(_pem: string): PublicKeyInfo {
  throw new Error('TODO(core)');
}

/** Parses an Ed25519 PKCS#8 PEM private key; throws KEY_INVALID otherwise. Returns the key and its public half. */
export function parsePrivateKey(_pem: string): { key: KeyObject; publicKey: PublicKeyInfo } {
  throw new Error('TODO(core)');
}

/** hex sha256 of the SPKI DER of a public key. */
export function keyIdOf(_publicKey: KeyObject): string {
  throw new Error('TODO(core)');
}

/** Ed25519 signature (base64) of bytes. Deterministic. */
export function signBytes(_bytes: Uint8Array, _privateKey: KeyObject): string {
  throw new Error('TODO(core)');
}

/** True when the base64 Ed25519 signature over bytes verifies with the public key. Never throws for bad input. */
export function verifyBytes(_bytes: Uint8Array, _signatureBase64: string, _publicKey: KeyObject): boolean {
  throw new Error('TODO(core)');
}
