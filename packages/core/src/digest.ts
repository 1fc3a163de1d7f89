import { createHash } from 'node:crypto';
import { LockgateError } from './errors.ts';

/** A content digest: `sha256:` followed by 64 lowercase hex characters. */
export type Digest = `sha256:${string}`;

export const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** Lowercase hex sha256 of bytes. Strings are hashed as UTF-8. */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** `sha256:<hex>` of bytes. */
export function digestOf(bytes: Uint8Array | string): Digest {
  return `sha256:${sha256Hex(bytes)}`;
}

export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && DIGEST_PATTERN.test(value);
}

/** Returns the digest or throws LockgateError DIGEST_INVALID. */
export function parseDigest(value: string): Digest {
  if (isDigest(value)) return value;
  throw new LockgateError(
    'DIGEST_INVALID',
    'A digest must be sha256: followed by 64 lowercase hex characters.',
    {
      details: { value: typeof value === 'string' ? value.slice(0, 100) : typeof value },
    },
  );
}
