/** A content digest: `sha256:` followed by 64 lowercase hex characters. */
export type Digest = `sha256:${string}`;

export const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** Lowercase hex sha256 of bytes. */
export function sha256Hex(_bytes: Uint8Array | string): string {
  throw new Error('TODO(core)');
}

/** `sha256:<hex>` of bytes. */
export function digestOf(_bytes: Uint8Array | string): Digest {
  throw new Error('TODO(core)');
}

export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && DIGEST_PATTERN.test(value);
}

/** Returns the digest or throws LockgateError DIGEST_INVALID. */
export function parseDigest(_value: string): Digest {
  throw new Error('TODO(core)');
}
