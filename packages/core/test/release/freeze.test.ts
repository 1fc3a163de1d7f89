import { describe, expect, it } from 'vitest';
import {
  activeFreeze,
  nextStartAllowed,
  scheduleAllows,
  validateFreezeWindow,
} from '../../src/release/index.ts';
import type { FreezeWindow } from '../../src/release/index.ts';

const once: FreezeWindow = {
  id: 'xmas',
  reason: 'holidays',
  kind: 'once',
  start: '2026-12-24T00:00:00Z',
  end: '2026-12-27T00:00:00Z',
};
// 2026-11-28 is a Saturday.
const weekend: FreezeWindow = {
  id: 'weekend',
  reason: 'no weekend changes',
  kind: 'weekly',
  days: ['sat'],
  start: '22:00',
  durationMinutes: 240,
};

describe('activeFreeze', () => {
  it('holds a once window from its start up to, not including, its end', () => {
    expect(activeFreeze([once], '2026-12-23T23:59:59Z')).toBeNull();
    expect(activeFreeze([once], '2026-12-24T00:00:00Z')?.freeze.id).toBe('xmas');
    expect(activeFreeze([once], new Date('2026-12-26T23:59:59Z'))?.until).toBe(
      '2026-12-27T00:00:00.000Z',
    );
    expect(activeFreeze([once], '2026-12-27T00:00:00Z')).toBeNull();
  });

  it('holds a weekly window across midnight into the next day, in UTC', () => {
    expect(activeFreeze([weekend], '2026-11-28T21:59:00Z')).toBeNull();
    expect(activeFreeze([weekend], '2026-11-28T22:00:00Z')).toMatchObject({
      from: '2026-11-28T22:00:00.000Z',
      until: '2026-11-29T02:00:00.000Z',
    });
    expect(activeFreeze([weekend], '2026-11-29T01:59:00+00:00')?.freeze.id).toBe('weekend');
    expect(activeFreeze([weekend], '2026-11-29T02:00:00Z')).toBeNull();
    expect(activeFreeze([weekend], '2026-11-27T23:00:00Z')).toBeNull();
  });

  it('returns the first window in effect', () => {
    const both = [
      weekend,
      { ...once, id: 'all-week', start: '2026-11-23T00:00:00Z', end: '2026-12-01T00:00:00Z' },
    ];
    expect(activeFreeze(both, '2026-11-28T23:00:00Z')?.freeze.id).toBe('weekend');
    expect(activeFreeze(both, '2026-11-28T12:00:00Z')?.freeze.id).toBe('all-week');
  });
});

describe('nextStartAllowed', () => {
  it('is now when nothing holds the release back', () => {
    expect(nextStartAllowed(undefined, '2026-11-23T10:00:00Z')?.toISOString()).toBe(
      '2026-11-23T10:00:00.000Z',
    );
  });

  it('waits for notBefore, then for the next occurrence of the window', () => {
    const schedule = {
      notBefore: '2026-11-24T12:00:00Z',
      window: { days: ['tue' as const, 'thu' as const], start: '09:00', durationMinutes: 120 },
    };
    // Tue 24th 12:00 is after Tuesday's window (09:00-11:00), so Thursday 09:00.
    expect(nextStartAllowed(schedule, '2026-11-23T10:00:00Z')?.toISOString()).toBe(
      '2026-11-26T09:00:00.000Z',
    );
    expect(scheduleAllows(schedule, '2026-11-26T10:59:00Z')).toBe(true);
    expect(scheduleAllows(schedule, '2026-11-26T11:00:00Z')).toBe(false);
    expect(scheduleAllows(schedule, '2026-11-24T10:00:00Z')).toBe(false);
  });

  it('skips freeze windows, also one that covers the start of a schedule window', () => {
    const schedule = { window: { days: ['sat' as const], start: '21:00', durationMinutes: 360 } };
    expect(nextStartAllowed(schedule, '2026-11-28T21:30:00Z', [weekend])?.toISOString()).toBe(
      '2026-11-28T21:30:00.000Z',
    );
    expect(nextStartAllowed(schedule, '2026-11-28T22:30:00Z', [weekend])?.toISOString()).toBe(
      '2026-11-29T02:00:00.000Z',
    );
    expect(nextStartAllowed(undefined, '2026-12-25T00:00:00Z', [once])?.toISOString()).toBe(
      '2026-12-27T00:00:00.000Z',
    );
  });
});

describe('validateFreezeWindow', () => {
  it('accepts well-formed windows and refuses malformed ones with every problem', () => {
    expect(validateFreezeWindow(weekend)).toEqual(weekend);
    try {
      validateFreezeWindow({
        id: '',
        reason: ' ',
        kind: 'weekly',
        days: ['fri', 'someday'],
        start: '25:00',
        durationMinutes: 0,
      });
      expect.fail('should throw');
    } catch (error) {
      expect((error as { code: string }).code).toBe('VALIDATION_FAILED');
      expect((error as { details: { problems: string[] } }).details.problems).toHaveLength(5);
    }
    expect(() => validateFreezeWindow({ ...once, end: once.start })).toThrow(
      /end must be after start/,
    );
  });
});
