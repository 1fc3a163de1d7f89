/**
 * Time values inside `core` release logic. `core` never reads the clock: every function takes
 * `now` (a Date or an RFC 3339 string) from its caller. Internal helpers, not exported publicly.
 */
import { LockgateError } from '../errors.ts';
import { parseRfc3339 } from '../rfc3339.ts';

/** A point in time given by the caller: a Date or an RFC 3339 string with a zone. */
export type Instant = Date | string;

/** Milliseconds since the epoch of an RFC 3339 string, or null when it is not one (rfc3339.ts). */
export const parseTime: (value: unknown) => number | null = parseRfc3339;

/** Milliseconds since the epoch of an Instant; throws BAD_REQUEST when it is not a valid time. */
export function toMillis(value: Instant, what = 'now'): number {
  const ms = value instanceof Date ? value.getTime() : parseTime(value);
  if (ms === null || !Number.isFinite(ms)) {
    throw new LockgateError('BAD_REQUEST', `${what} is not a valid RFC 3339 time.`, {
      details: { [what]: String(value) },
    });
  }
  return ms;
}

/** Canonical ISO form (UTC, milliseconds) of a time in milliseconds since the epoch. */
export function isoOf(ms: number): string {
  return new Date(ms).toISOString();
}
