import { describe, expect, it } from 'vitest';
import { digestOf, isDigest, parseDigest, sha256Hex } from '../src/index.ts';
import { lockgateErrorOf, utf8 } from './fixtures.ts';

describe('sha256Hex', () => {
  it('matches the FIPS 180-2 test vectors', () => {
    expect(sha256Hex('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(sha256Hex(new Uint8Array())).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  it('hashes a string as its UTF-8 bytes', () => {
    expect(sha256Hex('grüße')).toBe(sha256Hex(utf8('grüße')));
  });
});

describe('digestOf', () => {
  it('prefixes the hex hash with sha256:', () => {
    expect(digestOf('abc')).toBe(
      'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(isDigest(digestOf(utf8('x')))).toBe(true);
  });
});

describe('parseDigest', () => {
  it('returns a well-formed digest unchanged', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(parseDigest(digest)).toBe(digest);
  });

  it.each([
    ['uppercase hex', `sha256:${'A'.repeat(64)}`],
    ['a short hash', `sha256:${'a'.repeat(63)}`],
    ['no algorithm', 'a'.repeat(64)],
    ['another algorithm', `sha512:${'a'.repeat(64)}`],
    ['trailing text', `sha256:${'a'.repeat(64)}\n`],
  ])('refuses %s with DIGEST_INVALID', (_name, value) => {
    lockgateErrorOf(() => parseDigest(value), 'DIGEST_INVALID');
    expect(isDigest(value)).toBe(false);
  });
});
