/** RFC 8785 (JCS) canonical JSON text of a JSON value. Throws on values JSON cannot hold. */
export function canonicalJson(_value: unknown): string {
  throw new Error('TODO(core)');
}

/** UTF-8 bytes of canonicalJson(value). */
export function canonicalBytes(_value: unknown): Uint8Array {
  throw new Error('TODO(core)');
}
