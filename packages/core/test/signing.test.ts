import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyIdOf, parsePrivateKey, parsePublicKey, signBytes, verifyBytes } from '../src/index.ts';
import { lockgateErrorOf, publicPem, seededKey, utf8 } from './fixtures.ts';

const key = seededKey(1);
const other = seededKey(2);
const message = utf8('the manifest bytes');

describe('parsePublicKey', () => {
  it('returns the key with its id, the sha256 of its SPKI DER', () => {
    const info = parsePublicKey(publicPem(key));
    const der = createPublicKey(key).export({ type: 'spki', format: 'der' });
    expect(info.keyId).toBe(createHash('sha256').update(der).digest('hex'));
    expect(info.publicKeyPem).toBe(publicPem(key));
    expect(info.key.type).toBe('public');
  });

  it('accepts surrounding whitespace and gives the normalized PEM', () => {
    expect(parsePublicKey(`\n  ${publicPem(key)}\n\n`).publicKeyPem).toBe(publicPem(key));
  });

  it('refuses a private key PEM, although node could derive a public key from it', () => {
    const pkcs8 = key.export({ type: 'pkcs8', format: 'pem' }).toString();
    lockgateErrorOf(() => parsePublicKey(pkcs8), 'KEY_INVALID');
  });

  it('refuses a key of another type', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    lockgateErrorOf(() => parsePublicKey(pem), 'KEY_INVALID');
  });

  it('refuses text that is not a key', () => {
    lockgateErrorOf(() => parsePublicKey('hello'), 'KEY_INVALID');
    lockgateErrorOf(
      () => parsePublicKey('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----'),
      'KEY_INVALID',
    );
  });
});

describe('parsePrivateKey', () => {
  it('returns the key and its public half', () => {
    const pem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
    const parsed = parsePrivateKey(pem);
    expect(parsed.key.type).toBe('private');
    expect(parsed.publicKey).toEqual(parsePublicKey(publicPem(key)));
  });

  it('refuses a public key PEM', () => {
    lockgateErrorOf(() => parsePrivateKey(publicPem(key)), 'KEY_INVALID');
  });

  it('refuses an RSA private key', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    lockgateErrorOf(() => parsePrivateKey(pem), 'KEY_INVALID');
  });
});

describe('keyIdOf', () => {
  it('gives a private key the id of its public half', () => {
    expect(keyIdOf(key)).toBe(keyIdOf(createPublicKey(key)));
    expect(keyIdOf(key)).not.toBe(keyIdOf(other));
  });
});

describe('signBytes', () => {
  it('is deterministic and verifies', () => {
    const signature = signBytes(message, key);
    expect(signBytes(message, key)).toBe(signature);
    expect(Buffer.from(signature, 'base64')).toHaveLength(64);
    expect(verifyBytes(message, signature, createPublicKey(key))).toBe(true);
  });

  it('refuses a public key', () => {
    lockgateErrorOf(() => signBytes(message, createPublicKey(key)), 'KEY_INVALID');
  });
});

describe('verifyBytes', () => {
  const signature = signBytes(message, key);
  const publicKey = createPublicKey(key);

  it('refuses other bytes', () => {
    expect(verifyBytes(utf8('the manifest bytez'), signature, publicKey)).toBe(false);
  });

  it('refuses another key', () => {
    expect(verifyBytes(message, signature, createPublicKey(other))).toBe(false);
  });

  it('refuses a signature spelled in non-canonical base64', () => {
    expect(verifyBytes(message, `${signature}\n`, publicKey)).toBe(false);
    expect(verifyBytes(message, signature.replace(/==$/, ''), publicKey)).toBe(false);
    expect(verifyBytes(message, ` ${signature}`, publicKey)).toBe(false);
  });

  it('returns false rather than throwing for nonsense', () => {
    expect(verifyBytes(message, '', publicKey)).toBe(false);
    expect(verifyBytes(message, '!!!', publicKey)).toBe(false);
    expect(verifyBytes(message, 42 as unknown as string, publicKey)).toBe(false);
    expect(verifyBytes(message, signature, key)).toBe(false);
  });
});
