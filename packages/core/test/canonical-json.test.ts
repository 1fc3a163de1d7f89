import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalBytes, canonicalJson } from '../src/index.ts';
import { lockgateErrorOf } from './fixtures.ts';

describe('canonicalJson', () => {
  it('writes the RFC 8785 sample with ECMAScript numbers and minimal string escapes', () => {
    const value = JSON.parse(
      '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],' +
        '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",' +
        '"literals":[null,true,false]}',
    ) as unknown;
    expect(canonicalJson(value)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('orders keys by UTF-16 code units as in the RFC 8785 sort example', () => {
    const value = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    // Object.keys would list the integer-like key '1' first, so read the order from the text.
    const keys = [...canonicalJson(value).matchAll(/"((?:[^"\\]|\\.)*)":/g)].map((m) => m[1]);
    expect(keys).toEqual(['\\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33']);
  });

  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a lone surrogate', { s: '\ud800' }],
    ['undefined', undefined],
    ['a bigint', { n: 1n }],
  ])('refuses %s', (_name, value) => {
    lockgateErrorOf(() => canonicalJson(value), 'BAD_REQUEST');
  });

  it('gives the same text whatever order the keys were inserted in', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (object) => {
        const reversed = Object.fromEntries(Object.entries(object).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(object));
      }),
    );
  });

  it('is a fixed point: parsing canonical text and writing it again changes nothing', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        expect(canonicalJson(JSON.parse(text))).toBe(text);
      }),
    );
  });
});

describe('canonicalBytes', () => {
  it('is the UTF-8 encoding of the canonical text', () => {
    expect(Buffer.from(canonicalBytes({ b: 'ü', a: 1 })).toString('utf8')).toBe('{"a":1,"b":"ü"}');
    // { " b " : " ü(2 bytes) " } is 10 bytes, one more than its 9 UTF-16 units.
    expect(canonicalBytes({ b: 'ü' }).byteLength).toBe(10);
  });
});
