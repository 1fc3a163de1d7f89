/**
 * Freeze windows and release schedules, all in UTC.
 *
 * A freeze window blocks starting a release and advancing a stage, never a rollback or a pause.
 * - `once`: frozen for `start ≤ now < end` (RFC 3339 times).
 * - `weekly`: on each listed weekday, frozen from `start` (HH:MM) for `durationMinutes`
 *   (1..10080, may run past midnight into the next days).
 * A release schedule says when a release may start: not before `notBefore`, and, when a `window`
 * is given, only inside one of its weekly occurrences.
 */
import { LockgateError } from '../errors.ts';
import { isoOf, parseTime, toMillis } from './instant.ts';
import type { Instant } from './instant.ts';

export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';

/** In the order of Date#getUTCDay: 0 = Sunday. */
export const WEEKDAYS: readonly Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

export interface WeeklyWindow {
  days: Weekday[];
  /** HH:MM, UTC */
  start: string;
  durationMinutes: number;
}

export type FreezeWindow =
  | { id: string; reason: string; kind: 'once'; start: string; end: string }
  | ({ id: string; reason: string; kind: 'weekly' } & WeeklyWindow);

export interface ReleaseSchedule {
  notBefore?: string;
  window?: WeeklyWindow;
}

export interface ActiveFreeze {
  freeze: FreezeWindow;
  /** when this occurrence began and ends (ISO, UTC) */
  from: string;
  until: string;
}

const DAY_MS = 86_400_000;
const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;
const MAX_WEEKLY_MINUTES = 7 * 24 * 60;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function weeklyProblems(value: Record<string, unknown>, path: string): string[] {
  const problems: string[] = [];
  const { days, start, durationMinutes } = value;
  if (
    !Array.isArray(days) ||
    days.length === 0 ||
    !days.every((d) => typeof d === 'string' && (WEEKDAYS as readonly string[]).includes(d))
  ) {
    problems.push(`${path}.days must be a non-empty list of ${WEEKDAYS.join(', ')}`);
  }
  if (typeof start !== 'string' || !HH_MM.test(start)) problems.push(`${path}.start must be HH:MM`);
  if (
    !Number.isSafeInteger(durationMinutes) ||
    (durationMinutes as number) < 1 ||
    (durationMinutes as number) > MAX_WEEKLY_MINUTES
  ) {
    problems.push(`${path}.durationMinutes must be an integer in 1..${MAX_WEEKLY_MINUTES}`);
  }
  return problems;
}

function invalid(what: string, problems: string[]): never {
  throw new LockgateError('VALIDATION_FAILED', `The ${what} is malformed: ${problems[0]}.`, {
    details: { problems },
  });
}

/** Problems of an unknown value as a freeze window; empty when valid. */
export function freezeWindowProblems(value: unknown, path = 'freeze'): string[] {
  if (!isObject(value)) return [`${path} must be an object`];
  const problems: string[] = [];
  if (typeof value.id !== 'string' || value.id === '')
    problems.push(`${path}.id must be a non-empty string`);
  if (typeof value.reason !== 'string' || value.reason.trim() === '') {
    problems.push(`${path}.reason must be a non-empty string`);
  }
  if (value.kind === 'once') {
    const start = parseTime(value.start);
    const end = parseTime(value.end);
    if (start === null) problems.push(`${path}.start must be an RFC 3339 time`);
    if (end === null) problems.push(`${path}.end must be an RFC 3339 time`);
    if (start !== null && end !== null && end <= start)
      problems.push(`${path}.end must be after start`);
    for (const field of Object.keys(value)) {
      if (!['id', 'reason', 'kind', 'start', 'end'].includes(field)) {
        problems.push(`${path}.${field} is not a field of a once window`);
      }
    }
  } else if (value.kind === 'weekly') {
    problems.push(...weeklyProblems(value, path));
    for (const field of Object.keys(value)) {
      if (!['id', 'reason', 'kind', 'days', 'start', 'durationMinutes'].includes(field)) {
        problems.push(`${path}.${field} is not a field of a weekly window`);
      }
    }
  } else {
    problems.push(`${path}.kind must be once or weekly`);
  }
  return problems;
}

/** Checks a freeze window; VALIDATION_FAILED with details.problems otherwise. */
export function validateFreezeWindow(value: unknown): FreezeWindow {
  const problems = freezeWindowProblems(value);
  if (problems.length > 0) invalid('freeze window', problems);
  return structuredClone(value as FreezeWindow);
}

/** Problems of an unknown value as a release schedule; empty when valid. */
export function scheduleProblems(value: unknown, path = 'schedule'): string[] {
  if (!isObject(value)) return [`${path} must be an object`];
  const problems: string[] = [];
  for (const field of Object.keys(value)) {
    if (field !== 'notBefore' && field !== 'window')
      problems.push(`${path}.${field} is not a schedule field`);
  }
  if (value.notBefore !== undefined && parseTime(value.notBefore) === null) {
    problems.push(`${path}.notBefore must be an RFC 3339 time`);
  }
  if (value.window !== undefined) {
    if (!isObject(value.window)) problems.push(`${path}.window must be an object`);
    else {
      problems.push(...weeklyProblems(value.window, `${path}.window`));
      for (const field of Object.keys(value.window)) {
        if (!['days', 'start', 'durationMinutes'].includes(field)) {
          problems.push(`${path}.window.${field} is not a window field`);
        }
      }
    }
  }
  return problems;
}

/** Checks a release schedule; VALIDATION_FAILED with details.problems otherwise. */
export function validateSchedule(value: unknown): ReleaseSchedule {
  const problems = scheduleProblems(value);
  if (problems.length > 0) invalid('release schedule', problems);
  return structuredClone(value as ReleaseSchedule);
}

function offsetMs(start: string): number {
  const match = HH_MM.exec(start);
  if (match === null) return Number.NaN;
  return Number(match[1]) * 3_600_000 + Number(match[2]) * 60_000;
}

function dayOf(ms: number): Weekday | undefined {
  return WEEKDAYS[new Date(ms).getUTCDay()];
}

/** The occurrence of a weekly window that contains `ms`, or null. */
function weeklyOccurrenceAt(
  window: WeeklyWindow,
  ms: number,
): { start: number; end: number } | null {
  const today = Math.floor(ms / DAY_MS) * DAY_MS;
  const offset = offsetMs(window.start);
  // Occurrences last at most 7 days, so one that began more than 8 days ago has ended.
  for (let back = 0; back <= 8; back += 1) {
    const day = today - back * DAY_MS;
    const weekday = dayOf(day);
    if (weekday === undefined || !window.days.includes(weekday)) continue;
    const start = day + offset;
    const end = start + window.durationMinutes * 60_000;
    if (start <= ms && ms < end) return { start, end };
  }
  return null;
}

/** The first occurrence start of a weekly window at or after `ms`, or null when it has no days. */
function nextWeeklyStart(window: WeeklyWindow, ms: number): number | null {
  const today = Math.floor(ms / DAY_MS) * DAY_MS;
  const offset = offsetMs(window.start);
  for (let ahead = 0; ahead <= 8; ahead += 1) {
    const day = today + ahead * DAY_MS;
    const weekday = dayOf(day);
    if (weekday === undefined || !window.days.includes(weekday)) continue;
    const start = day + offset;
    if (start >= ms) return start;
  }
  return null;
}

function freezeIntervalAt(freeze: FreezeWindow, ms: number): { start: number; end: number } | null {
  if (freeze.kind === 'once') {
    const start = parseTime(freeze.start);
    const end = parseTime(freeze.end);
    if (start === null || end === null) return null;
    return start <= ms && ms < end ? { start, end } : null;
  }
  return weeklyOccurrenceAt(freeze, ms);
}

/** The first freeze window (in the given order) in effect at `now`, or null. */
export function activeFreeze(windows: readonly FreezeWindow[], now: Instant): ActiveFreeze | null {
  const ms = toMillis(now);
  for (const freeze of windows) {
    const interval = freezeIntervalAt(freeze, ms);
    if (interval !== null)
      return { freeze, from: isoOf(interval.start), until: isoOf(interval.end) };
  }
  return null;
}

/** True when the schedule lets a release start at `now` (freezes not considered). */
export function scheduleAllows(schedule: ReleaseSchedule | undefined, now: Instant): boolean {
  if (schedule === undefined) return true;
  const ms = toMillis(now);
  if (schedule.notBefore !== undefined) {
    const notBefore = parseTime(schedule.notBefore);
    if (notBefore === null || ms < notBefore) return false;
  }
  return schedule.window === undefined || weeklyOccurrenceAt(schedule.window, ms) !== null;
}

/**
 * The earliest time at or after `now` when the schedule allows a start and no freeze window is
 * in effect; null when there is none within the search bound (e.g. a malformed schedule).
 */
export function nextStartAllowed(
  schedule: ReleaseSchedule | undefined,
  now: Instant,
  freezeWindows: readonly FreezeWindow[] = [],
): Date | null {
  let t = toMillis(now);
  if (schedule?.notBefore !== undefined) {
    const notBefore = parseTime(schedule.notBefore);
    if (notBefore === null) return null;
    t = Math.max(t, notBefore);
  }
  for (let step = 0; step < 1000; step += 1) {
    if (schedule?.window !== undefined && weeklyOccurrenceAt(schedule.window, t) === null) {
      const next = nextWeeklyStart(schedule.window, t);
      if (next === null) return null;
      t = next;
      continue;
    }
    const frozen = freezeWindows.map((f) => freezeIntervalAt(f, t)).find((i) => i !== null);
    if (frozen === undefined) return new Date(t);
    t = frozen.end;
  }
  return null;
}
