import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { errorBudget } from '../../src/index.ts';

describe('error budget', () => {
  it('is untouched when every event was good', () => {
    expect(errorBudget({ objective: 0.999, good: 10_000, total: 10_000 })).toMatchObject({
      bad: 0,
      remaining: 1,
      exhausted: false,
    });
  });

  it('is exhausted when the bad events reach what the objective allows', () => {
    const budget = errorBudget({ objective: 0.99, good: 990, total: 1000 });
    expect(budget.allowedBad).toBeCloseTo(10);
    expect(budget.exhausted).toBe(true);
  });

  it('is half spent at half the allowed bad events', () => {
    expect(errorBudget({ objective: 0.99, good: 995, total: 1000 }).remaining).toBeCloseTo(0.5);
  });

  it('decides nothing on a window with too few events', () => {
    expect(errorBudget({ objective: 0.99, good: 0, total: 50 })).toMatchObject({
      remaining: null,
      exhausted: false,
    });
  });

  it('refuses an objective outside (0, 1) and more good events than events', () => {
    expect(() => errorBudget({ objective: 1, good: 1, total: 1 })).toThrow(/objective/);
    expect(() => errorBudget({ objective: 0.9, good: 2, total: 1 })).toThrow(/good/);
  });

  it('never has more budget left after more bad events', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 1_000_000 }), fc.nat(), fc.nat(), (total, a, b) => {
        const [fewer, more] = [a % (total + 1), b % (total + 1)].sort((x, y) => x - y) as [
          number,
          number,
        ];
        const left = (bad: number): number =>
          errorBudget({ objective: 0.995, good: total - bad, total }).remaining ?? 1;
        return left(more) <= left(fewer);
      }),
    );
  });
});
