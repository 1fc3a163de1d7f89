/**
 * Secrets inside a backup (the channel-index signing private keys, webhook signing secrets) are
 * encrypted with a passphrase: scrypt (N=2^15, r=8, p=1) derives a 256-bit key from the
 * passphrase and a random 16-byte salt; AES-256-GCM with a random 12-byte IV encrypts the value.
 * Stored as `lockgate-sealed:v1:<salt>:<iv>:<tag>:<ciphertext>` (base64url parts), so a sealed
 * value is recognisable and a wrong passphrase fails the GCM tag (BACKUP_PASSPHRASE_INVALID),
 * never yields garbage.
 */
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { LockgateError } from '@lockgate/core';

const PREFIX = 'lockgate-sealed:v1:';
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

export function isSealed(value: string): boolean {
  return value.startsWith(PREFIX);
}

/** A sealer with one derived key per backup (scrypt is slow on purpose; derive once). */
export function createSealer(passphrase: string): {
  seal(plain: string): string;
  open(sealed: string): string;
} {
  const keys = new Map<string, Buffer>();
  const keyFor = (salt: Buffer): Buffer => {
    const id = salt.toString('base64url');
    let key = keys.get(id);
    if (key === undefined) {
      key = scryptSync(passphrase, salt, 32, SCRYPT);
      keys.set(id, key);
    }
    return key;
  };
  const salt = randomBytes(16);
  return {
    seal(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', keyFor(salt), iv);
      const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      const parts = [salt, iv, cipher.getAuthTag(), ciphertext].map((b) => b.toString('base64url'));
      return `${PREFIX}${parts.join(':')}`;
    },
    open(sealed) {
      const parts = sealed.slice(PREFIX.length).split(':');
      if (!isSealed(sealed) || parts.length !== 4) {
        throw new LockgateError('BACKUP_INVALID', 'A sealed secret in the backup is malformed.');
      }
      const [saltPart, ivPart, tagPart, dataPart] = parts.map((p) => Buffer.from(p, 'base64url'));
      try {
        const decipher = createDecipheriv(
          'aes-256-gcm',
          keyFor(saltPart as Buffer),
          ivPart as Buffer,
        );
        decipher.setAuthTag(tagPart as Buffer);
        return Buffer.concat([decipher.update(dataPart as Buffer), decipher.final()]).toString(
          'utf8',
        );
      } catch (cause) {
        throw new LockgateError(
          'BACKUP_PASSPHRASE_INVALID',
          'The passphrase does not open the secrets of this backup.',
          { cause },
        );
      }
    },
  };
}
