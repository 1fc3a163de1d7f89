import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import {
  collectCohort,
  collectCohortPercent,
  parseChannelRef,
  parseClockTime,
  parseExpiry,
  parseFloor,
  parseIdempotencyKey,
  parsePinScope,
  parsePositiveDuration,
  parseReason,
  parseReleaseState,
  parseTimeValue,
  parseWeekdays,
} from '../src/option-values.ts';
import { mergedCohorts } from '../src/commands/channel-command.ts';
import { freezeWindowBody } from '../src/commands/env-command.ts';
import { UsageError } from '../src/cli-error.ts';

describe('release option values', () => {
  it('reads ENV/CHANNEL and refuses anything else', () => {
    expect(parseChannelRef('prod-eu/stable')).toEqual({ env: 'prod-eu', channel: 'stable' });
    for (const bad of ['prod-eu', 'prod-eu/', '/stable', 'a/b/c', 'Prod/stable', 'prod/-x', '']) {
      expect(() => parseChannelRef(bad), bad).toThrow(InvalidArgumentError);
    }
    expect(() => parseChannelRef('prod')).toThrow(/ENV\/CHANNEL/);
    expect(() => parseChannelRef(`${'a'.repeat(64)}/stable`)).toThrow(/at most 63/);
  });

  it('reads a pin scope with or without a cohort', () => {
    expect(parsePinScope('prod-eu/stable')).toEqual({
      env: 'prod-eu',
      channel: 'stable',
      cohort: null,
    });
    expect(parsePinScope('prod-eu/stable/canary')).toEqual({
      env: 'prod-eu',
      channel: 'stable',
      cohort: 'canary',
    });
    expect(() => parsePinScope('prod-eu')).toThrow(InvalidArgumentError);
    expect(() => parsePinScope('prod-eu/stable/canary/x')).toThrow(InvalidArgumentError);
    expect(() => parsePinScope('prod-eu/stable/_')).toThrow(/Cohort '_'/);
  });

  it('reads durations in seconds and refuses zero and nonsense', () => {
    expect(parsePositiveDuration('24h')).toBe(86_400);
    expect(parsePositiveDuration('1h30m')).toBe(5400);
    expect(parsePositiveDuration('90')).toBe(90);
    for (const bad of ['0', '0s', 'soon', '-5m', '2 hours', '']) {
      expect(() => parsePositiveDuration(bad), bad).toThrow(InvalidArgumentError);
    }
  });

  it('reads RFC 3339 times with a zone as UTC, and refuses dates that do not exist', () => {
    expect(parseTimeValue('2026-12-24T18:00:00Z')).toBe('2026-12-24T18:00:00.000Z');
    expect(parseTimeValue('2026-12-24T18:00:00+02:00')).toBe('2026-12-24T16:00:00.000Z');
    expect(parseTimeValue('2028-02-29T00:00Z')).toBe('2028-02-29T00:00:00.000Z');
    for (const bad of [
      '2026-12-24',
      '2026-12-24T18:00:00',
      '2026-02-30T10:00:00Z',
      '2026-13-01T10:00:00Z',
      '2026-12-24T24:00:00Z',
      'tomorrow',
    ]) {
      expect(() => parseTimeValue(bad), bad).toThrow(InvalidArgumentError);
    }
  });

  it('reads weekdays as lists and ranges in week order', () => {
    expect(parseWeekdays('mon-fri')).toEqual(['mon', 'tue', 'wed', 'thu', 'fri']);
    expect(parseWeekdays('sun,sat')).toEqual(['sat', 'sun']);
    expect(parseWeekdays('Mon-Wed,fri,wed')).toEqual(['mon', 'tue', 'wed', 'fri']);
    expect(() => parseWeekdays('fri-mon')).toThrow(/backwards/);
    expect(() => parseWeekdays('funday')).toThrow(InvalidArgumentError);
    expect(() => parseWeekdays('mon-tue-wed')).toThrow(InvalidArgumentError);
    expect(() => parseWeekdays('')).toThrow(InvalidArgumentError);
  });

  it('reads a UTC time of day HH:MM', () => {
    expect(parseClockTime('22:00')).toBe('22:00');
    for (const bad of ['24:00', '7:00', '12:60', 'noon']) {
      expect(() => parseClockTime(bad), bad).toThrow(InvalidArgumentError);
    }
  });

  it('reads a floor as a sequence or none', () => {
    expect(parseFloor('12')).toBe(12);
    expect(parseFloor('none')).toBeNull();
    expect(() => parseFloor('-1')).toThrow(InvalidArgumentError);
    expect(() => parseFloor('low')).toThrow(InvalidArgumentError);
  });

  it('reads cohorts by selector and by percentage and merges them by name', () => {
    const selectors = collectCohort(
      'eu=region=eu,tier in (a,b)',
      collectCohort('gpu=gpu,!legacy', undefined),
    );
    expect(selectors).toEqual([
      {
        name: 'gpu',
        selector: {
          matchExpressions: [
            { key: 'gpu', operator: 'Exists' },
            { key: 'legacy', operator: 'DoesNotExist' },
          ],
        },
      },
      {
        name: 'eu',
        selector: {
          matchLabels: { region: 'eu' },
          matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }],
        },
      },
    ]);
    const percents = collectCohortPercent('eu=12.5%', collectCohortPercent('canary=10', undefined));
    expect(mergedCohorts(selectors, percents)).toEqual([
      selectors[0],
      { name: 'eu', selector: selectors[1]?.selector, percent: 12.5 },
      { name: 'canary', percent: 10 },
    ]);
  });

  it('refuses a malformed selector with the selector problem, and a cohort given twice', () => {
    expect(() => collectCohort('eu=region in (a', undefined)).toThrow(/unbalanced parentheses/);
    expect(() => collectCohort('eu=bad key=x', undefined)).toThrow(InvalidArgumentError);
    expect(() => collectCohort('EU=region=eu', undefined)).toThrow(/Cohort 'EU'/);
    expect(() => collectCohort('eu=a=b', collectCohort('eu=a=c', undefined))).toThrow(/twice/);
    expect(() => collectCohort('noselector', undefined)).toThrow(/NAME=SELECTOR/);
  });

  it('refuses percentages outside 0..100 or with more than two decimals', () => {
    expect(collectCohortPercent('c=0', undefined)).toEqual([{ name: 'c', percent: 0 }]);
    expect(collectCohortPercent('c=100', undefined)).toEqual([{ name: 'c', percent: 100 }]);
    for (const bad of ['c=101', 'c=-1', 'c=1.234', 'c=ten', 'c=']) {
      expect(() => collectCohortPercent(bad, undefined), bad).toThrow(InvalidArgumentError);
    }
    expect(() => collectCohortPercent('c=5', collectCohortPercent('c=10', undefined))).toThrow(
      /twice/,
    );
  });

  it('reads release states, reasons and idempotency keys', () => {
    expect(parseReleaseState('rolled_back')).toBe('rolled_back');
    expect(() => parseReleaseState('done')).toThrow(/requested, verifying/);
    expect(parseReason('  disk full  ')).toBe('disk full');
    expect(() => parseReason('   ')).toThrow(InvalidArgumentError);
    expect(parseIdempotencyKey('deploy-42')).toBe('deploy-42');
    expect(() => parseIdempotencyKey('two words')).toThrow(InvalidArgumentError);
    expect(() => parseIdempotencyKey('')).toThrow(InvalidArgumentError);
  });

  it('reads a pin expiry as a duration or a time', () => {
    expect(parseExpiry('24h')).toEqual({ expiresIn: '1d', seconds: 86_400 });
    expect(parseExpiry('90m')).toEqual({ expiresIn: '1h30m', seconds: 5400 });
    expect(parseExpiry('2026-12-24T18:00:00Z')).toEqual({ expiresAt: '2026-12-24T18:00:00.000Z' });
    expect(() => parseExpiry('forever')).toThrow(/duration like 24h/);
    expect(() => parseExpiry('2026-12-24')).toThrow(/RFC 3339/);
  });
});

describe('freeze window flags', () => {
  const base = { reason: 'holidays' };

  it('makes a one-time window from --from and --until', () => {
    expect(
      freezeWindowBody({
        ...base,
        from: '2026-12-24T00:00:00.000Z',
        until: '2026-12-27T00:00:00.000Z',
      }),
    ).toEqual({
      reason: 'holidays',
      kind: 'once',
      start: '2026-12-24T00:00:00.000Z',
      end: '2026-12-27T00:00:00.000Z',
    });
  });

  it('makes a weekly window from --weekly, --start and --duration in minutes', () => {
    expect(freezeWindowBody({ ...base, weekly: ['fri'], start: '16:00', duration: 7200 })).toEqual({
      reason: 'holidays',
      kind: 'weekly',
      days: ['fri'],
      start: '16:00',
      durationMinutes: 120,
    });
  });

  it('refuses a mix of both forms, half of one, a window that ends first, and odd durations', () => {
    const cases = [
      {},
      { from: '2026-12-24T00:00:00.000Z' },
      { weekly: ['fri' as const], start: '16:00' },
      { from: '2026-12-24T00:00:00.000Z', until: '2026-12-27T00:00:00.000Z', start: '16:00' },
      { from: '2026-12-27T00:00:00.000Z', until: '2026-12-24T00:00:00.000Z' },
      { weekly: ['fri' as const], start: '16:00', duration: 90 },
      { weekly: ['fri' as const], start: '16:00', duration: 8 * 86_400 },
    ];
    for (const flags of cases) {
      expect(() => freezeWindowBody({ ...base, ...flags }), JSON.stringify(flags)).toThrow(
        UsageError,
      );
    }
  });
});
