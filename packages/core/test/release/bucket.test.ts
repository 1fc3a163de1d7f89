import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BUCKET_COUNT, bucket, bucketsOf, inPercent } from '../../src/release/index.ts';
import { ids } from './fixtures.ts';

const percent = fc.double({ min: 0, max: 100, noNaN: true });

describe('bucket', () => {
  it('matches the documented formula on fixed vectors (computed independently in Python)', () => {
    expect(bucket('rel_1', 'target-1')).toBe(7940);
    expect(bucket('', '')).toBe(7193);
    expect(bucket('salt', 'host-42')).toBe(9908);
  });

  it('is an integer in 0..9999', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (salt, id) => {
        const b = bucket(salt, id);
        return Number.isInteger(b) && b >= 0 && b < BUCKET_COUNT;
      }),
    );
  });

  it('is sticky: the same salt and target always give the same bucket', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (salt, id) => bucket(salt, id) === bucket(salt, id)),
    );
  });

  it('separates salt and target id, so moving characters between them changes the input', () => {
    expect(bucket('ab', 'c')).not.toBe(bucket('a', 'bc'));
  });

  it('spreads targets evenly enough that 10% holds about a tenth of them', () => {
    const inTen = ids(10_000).filter((id) => inPercent('rel_1', id, 10)).length;
    expect(inTen).toBeGreaterThan(900);
    expect(inTen).toBeLessThan(1100);
  });
});

describe('inPercent', () => {
  it('is nested: a target in p% is in every q% with q ≥ p', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), percent, percent, (salt, id, a, b) => {
        const [p, q] = a <= b ? [a, b] : [b, a];
        return !inPercent(salt, id, p) || inPercent(salt, id, q);
      }),
    );
  });

  it('holds every target at 100% and none at 0%', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string(),
        (salt, id) => inPercent(salt, id, 100) && !inPercent(salt, id, 0),
      ),
    );
  });

  it('uses round(percent × 100) buckets and treats non-finite percentages as 0', () => {
    expect(bucketsOf(10)).toBe(1000);
    expect(bucketsOf(0.015)).toBe(2);
    expect(bucketsOf(150)).toBe(BUCKET_COUNT);
    expect(bucketsOf(Number.NaN)).toBe(0);
    expect(bucketsOf(Infinity)).toBe(0);
  });
});
