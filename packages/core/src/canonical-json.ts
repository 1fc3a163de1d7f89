import canonicalize from 'canonicalize';
import { LockgateError } from './errors.ts';

/** RFC 8785 (JCS) canonical JSON text of a JSON value. Throws on values JSON cannot hold. */
export function canonicalJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = canonicalize(value);
  } catch (cause) {
    throw new LockgateError(
      'BAD_REQUEST',
      `The value has no canonical JSON form: ${reason(cause)}.`,
      {
        cause,
      },
    );
  }
  if (text === undefined) {
    throw new LockgateError(
      'BAD_REQUEST',
      `The value has no canonical JSON form: ${typeof value}.`,
    );
  }
  return text;
}

/** UTF-8 bytes of canonicalJson(value). */
export function canonicalBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value));
}

function reason(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
