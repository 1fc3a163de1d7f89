import type { ByteRange } from '../blob-store.ts';

export type RangeRequest =
  { kind: 'full' } | ({ kind: 'partial' } & ByteRange) | { kind: 'unsatisfiable' };

/**
 * Resolves a `Range` header against a file size (RFC 9110 §14). Only one `bytes` range is
 * honoured; a header that is absent, malformed or asks for several ranges yields the whole file.
 */
export function resolveRange(header: string | undefined, size: number): RangeRequest {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? '');
  if (match === null) return { kind: 'full' };
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { kind: 'full' };
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (last !== '' && Number(last) < start) return { kind: 'full' };
  if (start >= size) return { kind: 'unsatisfiable' };
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  return { kind: 'partial', start, end };
}
