import { describe, expect, it } from 'vitest';
import { createOperationsJobs } from '../../src/features/operations/operations-jobs.ts';
import { manualClock } from '../helpers/test-app.ts';

describe('operations jobs', () => {
  it('run every step even when one fails, and sign a checkpoint at most once a minute', async () => {
    const clock = manualClock('2026-05-04T09:00:00.000Z');
    const calls: string[] = [];
    const errors: string[] = [];
    const jobs = createOperationsJobs({
      log: {
        checkpoint: () => {
          calls.push('checkpoint');
          return Promise.reject(new Error('LOG_SPLIT_VIEW'));
        },
      },
      freezes: {
        announceStarts: () => {
          calls.push('announce');
          return Promise.resolve([]);
        },
      },
      errorBudget: {
        run: () => {
          calls.push('budget');
          return Promise.reject(new Error('database gone'));
        },
      },
      clock: clock.clock,
      onError: (error, step) => errors.push(`${step}: ${(error as Error).message}`),
    });
    await jobs.runOnce();
    clock.advance(15);
    await jobs.runOnce();
    clock.advance(45);
    await jobs.runOnce();
    expect(calls).toEqual([
      'checkpoint',
      'announce',
      'budget',
      'announce',
      'budget',
      'checkpoint',
      'announce',
      'budget',
    ]);
    expect(errors).toEqual([
      'log-checkpoint: LOG_SPLIT_VIEW',
      'error-budget: database gone',
      'error-budget: database gone',
      'log-checkpoint: LOG_SPLIT_VIEW',
      'error-budget: database gone',
    ]);
  });

  it('never overlaps runs, and stop waits for the run in progress', async () => {
    const clock = manualClock();
    let running = 0;
    let most = 0;
    let finished = 0;
    const jobs = createOperationsJobs({
      log: { checkpoint: () => Promise.resolve({ size: 0, note: '' }) },
      freezes: {
        announceStarts: async () => {
          running += 1;
          most = Math.max(most, running);
          await new Promise((resolve) => setTimeout(resolve, 20));
          running -= 1;
          finished += 1;
          return [];
        },
      },
      errorBudget: null,
      clock: clock.clock,
      onError: () => undefined,
    });
    void jobs.runOnce();
    void jobs.runOnce();
    const last = jobs.runOnce();
    await jobs.stop();
    expect(finished).toBe(3);
    await last;
    expect(most).toBe(1);
  });
});
