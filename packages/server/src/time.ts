import { normalizeRfc3339 } from '@lockgate/api';
import { LockgateError, parseDuration } from '@lockgate/core';
import type { ErrorCode } from '@lockgate/core';

/**
 * An RFC 3339 time from a request in the stored form (ISO 8601 UTC with milliseconds, so stored
 * times compare as text); `code` when it is not one.
 */
export function normalizeTime(text: string, field: string, code: ErrorCode): string {
  const normalized = normalizeRfc3339(text);
  if (normalized === null) {
    throw new LockgateError(
      code,
      `${field} must be an RFC 3339 time such as 2026-01-01T00:00:00Z.`,
      {
        details: { [field]: text },
      },
    );
  }
  return normalized;
}

/** Seconds of a request duration (`30s`, `10m`, `24h`, or seconds); `code` when invalid or ≤ 0. */
export function positiveDuration(value: string | number, field: string, code: ErrorCode): number {
  let seconds: number;
  try {
    seconds = typeof value === 'number' ? value : parseDuration(value);
  } catch {
    seconds = Number.NaN;
  }
  if (!Number.isSafeInteger(seconds) || seconds <= 0) {
    throw new LockgateError(code, `${field} must be a positive duration such as 30s, 10m or 24h.`, {
      details: { [field]: value },
    });
  }
  return seconds;
}

/** The ISO time `seconds` after `now`. */
export function isoAfter(now: Date, seconds: number): string {
  return new Date(now.getTime() + seconds * 1000).toISOString();
}
