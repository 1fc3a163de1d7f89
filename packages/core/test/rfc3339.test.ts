import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeRfc3339, parseRfc3339 } from '../src/rfc3339.ts';

/** Any instant from year 0001 to 9999, in milliseconds. */
const instant = fc.integer({
  min: Date.parse('0001-01-01T00:00:00Z'),
  max: Date.UTC(9999, 11, 31),
});

describe('parseRfc3339', () => {
  it('reads back every instant written in canonical form', () => {
    fc.assert(
      fc.property(instant, (ms) => {
        const text = new Date(ms).toISOString();
        fc.pre(/^\d{4}-/.test(text));
        expect(parseRfc3339(text)).toBe(ms);
        expect(normalizeRfc3339(text)).toBe(text);
      }),
    );
  });

  it('reads the same instant whatever the offset it is written with', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }),
        fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 }),
        (ms, offsetMinutes) => {
          const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 23);
          const sign = offsetMinutes < 0 ? '-' : '+';
          const abs = Math.abs(offsetMinutes);
          const zone = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
          expect(parseRfc3339(`${local}${zone}`)).toBe(ms);
        },
      ),
    );
  });

  it('accepts a zone in either case, fractions up to nanoseconds and times without seconds', () => {
    expect(normalizeRfc3339('2026-12-24t18:00:00z')).toBe('2026-12-24T18:00:00.000Z');
    expect(normalizeRfc3339('2026-12-24T18:00:00.123456789Z')).toBe('2026-12-24T18:00:00.123Z');
    expect(normalizeRfc3339('2026-12-24T18:00Z')).toBe('2026-12-24T18:00:00.000Z');
    expect(normalizeRfc3339('2026-12-24T19:30:00+01:30')).toBe('2026-12-24T18:00:00.000Z');
    expect(normalizeRfc3339('2024-02-29T00:00:00Z')).toBe('2024-02-29T00:00:00.000Z');
    expect(normalizeRfc3339('2000-02-29T00:00:00Z')).toBe('2000-02-29T00:00:00.000Z');
  });

  it('refuses impossible dates and times instead of rolling them over', () => {
    for (const text of [
      '2026-02-29T00:00:00Z',
      '2026-02-30T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '1900-02-29T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-00-10T00:00:00Z',
      '2026-01-00T00:00:00Z',
      '2026-01-32T00:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01T23:60:00Z',
      '2026-01-01T23:59:60Z',
      '2026-01-01T00:00:00+24:00',
      '2026-01-01T00:00:00+01:60',
    ]) {
      expect(parseRfc3339(text), text).toBeNull();
    }
  });

  it('refuses text that is not an RFC 3339 time with a zone', () => {
    for (const value of [
      '2026-01-01',
      '2026-01-01T00:00:00',
      '2026-01-01 00:00:00Z',
      '2026-1-01T00:00:00Z',
      '2026-01-01T00:00:00.Z',
      '2026-01-01T00:00:00.1234567890Z',
      '2026-01-01T00:00:00+0100',
      ' 2026-01-01T00:00:00Z',
      'Thu, 01 Jan 2026 00:00:00 GMT',
      '1767225600000',
      '',
      1767225600000,
      null,
      new Date(0),
    ]) {
      expect(parseRfc3339(value), String(value)).toBeNull();
    }
  });
});
