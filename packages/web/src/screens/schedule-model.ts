import type { FreezeWindowView, ReleaseView, Weekday } from '@lockgate/api';

/** One line of the calendar: what happens when, and where. */
export interface CalendarItem {
  /** `2026-01-05` (UTC) */
  day: string;
  /** `10:00–12:00` or `from 10:00` */
  when: string;
  kind: 'freeze' | 'release';
  env: string;
  text: string;
  /** the freeze window's id, for deleting it */
  freezeId?: string;
}

const DAY_MS = 86_400_000;
const WEEKDAYS: readonly Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const hhmm = (ms: number): string => new Date(ms).toISOString().slice(11, 16);

function plusMinutes(start: string, minutes: number): string {
  const [h = 0, m = 0] = start.split(':').map(Number);
  const total = h * 60 + m + minutes;
  const days = Math.floor(total / 1440);
  const rest = total % 1440;
  const text = `${String(Math.floor(rest / 60)).padStart(2, '0')}:${String(rest % 60).padStart(2, '0')}`;
  return days === 0 ? text : `${text} (+${days}d)`;
}

/**
 * The freeze windows and scheduled releases of the `days` days from `now` (UTC), day by day and by
 * time: a one-time window on the first day it covers in the range (with its end, or "until
 * lifted" for stop the line), a weekly window on each of its weekdays, a release
 * on its not-before day or on each day of its weekly window. Releases that ended are left out.
 */
export function calendar(
  windows: readonly FreezeWindowView[],
  releases: readonly ReleaseView[],
  now: number,
  days = 14,
): CalendarItem[] {
  const first = Date.parse(`${dayOf(now)}T00:00:00Z`);
  const items: CalendarItem[] = [];
  for (let d = 0; d < days; d += 1) {
    const dayStart = first + d * DAY_MS;
    const day = dayOf(dayStart);
    const weekday = WEEKDAYS[new Date(dayStart).getUTCDay()];
    for (const w of windows) {
      if (w.kind === 'once') {
        const start = Date.parse(w.start);
        const end = w.end === undefined ? start : Date.parse(w.end);
        if (end <= dayStart || start >= dayStart + DAY_MS) continue;
        // Listed once, on the first day of the range it covers.
        if (start < dayStart && d > 0) continue;
        const from = start > dayStart ? hhmm(start) : '00:00';
        const to =
          end < dayStart + DAY_MS
            ? `–${hhmm(end)}`
            : new Date(end).getUTCFullYear() >= 9999
              ? ' until lifted'
              : ` → ${dayOf(end)} ${hhmm(end)}`;
        items.push({
          day,
          when: `${from}${to}`,
          kind: 'freeze',
          env: w.env,
          text: `freeze: ${w.reason}`,
          freezeId: w.id,
        });
      } else if (weekday !== undefined && (w.days ?? []).includes(weekday)) {
        items.push({
          day,
          when: `${w.start}–${plusMinutes(w.start, w.durationMinutes ?? 0)}`,
          kind: 'freeze',
          env: w.env,
          text: `weekly freeze: ${w.reason}`,
          freezeId: w.id,
        });
      }
    }
    for (const r of releases) {
      if (r.schedule === undefined) continue;
      if (!['requested', 'verifying', 'rolling', 'paused'].includes(r.state)) continue;
      const text = `release ${r.id} (${r.channel}): ${r.reason}`;
      const notBefore =
        r.schedule.notBefore === undefined ? null : Date.parse(r.schedule.notBefore);
      const window = r.schedule.window;
      if (window !== undefined) {
        if (weekday === undefined || !window.days.includes(weekday)) continue;
        if (notBefore !== null && notBefore >= dayStart + DAY_MS) continue;
        items.push({
          day,
          when: `${window.start}–${plusMinutes(window.start, window.durationMinutes)}`,
          kind: 'release',
          env: r.env,
          text,
        });
      } else if (notBefore !== null && dayOf(notBefore) === day) {
        items.push({ day, when: `from ${hhmm(notBefore)}`, kind: 'release', env: r.env, text });
      }
    }
  }
  return items.sort(
    (a, b) =>
      a.day.localeCompare(b.day) ||
      a.when.localeCompare(b.when) ||
      a.env.localeCompare(b.env) ||
      a.text.localeCompare(b.text),
  );
}
