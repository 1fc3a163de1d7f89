/**
 * The one RFC 3339 parser of Lockgate: core, server, CLI, agent and (through `@lockgate/api`)
 * the console all read times with it, so a time one part accepts no other refuses.
 *
 * Accepted: `YYYY-MM-DDTHH:MM[:SS[.fraction]]` with `Z` or a `±HH:MM` offset (`T` and `Z` in
 * either case). Every field is range-checked — month 1–12, the day within its month (no
 * `2026-02-30`), hours 0–23, minutes and seconds 0–59, offsets up to ±23:59 — instead of letting
 * `Date` roll an impossible date into the next month. Seconds may be left out (`T18:00Z`), as
 * every Lockgate input has always allowed. No leap seconds (`:60`): `Date` cannot hold them.
 *
 * This file imports nothing, so `@lockgate/api` re-exports it (`@lockgate/core/rfc3339`)
 * without pulling the rest of core into a browser bundle.
 */

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/i;

/** Milliseconds since the epoch of an RFC 3339 time, or null when `value` is not one. */
export function parseRfc3339(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const match = RFC3339.exec(value);
  if (match === null) return null;
  const [year, month, day, hour, minute, second, zoneHour, zoneMinute] = match
    .slice(1)
    .map((part) => (part === undefined ? 0 : Number(part))) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12) return null;
  if (day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59 || zoneHour > 23 || zoneMinute > 59) return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
}

/** The canonical form of an RFC 3339 time (UTC, milliseconds: `2026-12-24T18:00:00.000Z`), or null. */
export function normalizeRfc3339(value: unknown): string | null {
  const ms = parseRfc3339(value);
  return ms === null ? null : new Date(ms).toISOString();
}
