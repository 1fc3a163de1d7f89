import type { ReplayView } from '@lockgate/api';
import { describe, expect, it } from 'vitest';
import { formatMatchRate, formatReplay, replayFigures } from '../src/replay-format.ts';

describe('replay figures', () => {
  it('say the counts and the match rate in one line', () => {
    expect(replayFigures({ total: 12, matching: 12, mismatches: 0, matchRate: 1 })).toBe(
      '12 decisions, 12 matching, 0 mismatches, match rate 100 %',
    );
    expect(replayFigures({ total: 1, matching: 0, mismatches: 1, matchRate: 0 })).toBe(
      '1 decision, 0 matching, 1 mismatch, match rate 0 %',
    );
  });

  it('never round a rate below 100 % up to 100 %', () => {
    expect(formatMatchRate(11 / 12)).toBe('91.6 %');
    expect(formatMatchRate(0.9999)).toBe('99.9 %');
    expect(formatMatchRate(0.5)).toBe('50 %');
    expect(formatMatchRate(0.29)).toBe('29 %');
    expect(formatMatchRate(1 / 3)).toBe('33.3 %');
  });

  it('name each mismatch with its record, field and both values', () => {
    const replay: ReplayView = {
      id: 'rpl_1',
      release: 'rel_1',
      requester: 'admin',
      reason: 'audit',
      status: 'completed',
      coreVersion: '0.1.0+decide.1',
      createdAt: '2026-01-01T00:00:00.000Z',
      finishedAt: '2026-01-01T00:00:00.000Z',
      total: 2,
      matching: 1,
      mismatches: 1,
      matchRate: 0.5,
      mismatched: [
        {
          seq: 7,
          recordId: 'dec_7',
          rule: 'stage.soak_complete',
          problem: 'field',
          field: 'inputs.gates[0].threshold',
          expected: 0.05,
          actual: 0.06,
          recordedBy: '0.1.0+decide.1',
          contextIntact: false,
        },
      ],
      skipped: [{ seq: 1, rule: 'release.create', why: 'not a core release decision' }],
      error: null,
    };
    expect(formatReplay(replay).split('\n')).toEqual([
      'replay rpl_1 of release rel_1 on core 0.1.0+decide.1: completed',
      '  2 decisions, 1 matching, 1 mismatch, match rate 50 %',
      '  mismatch at record 7 (stage.soak_complete): inputs.gates[0].threshold recorded 0.05, replayed 0.06; the stored context was changed',
      '  not replayed: record 1 (release.create: not a core release decision)',
    ]);
  });
});
