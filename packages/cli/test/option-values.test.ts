import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import {
  collectGate,
  collectPair,
  parsePackRef,
  parsePort,
  parseSequence,
  parseServerUrl,
} from '../src/option-values.ts';

describe('option values', () => {
  it('collects gates in order and accepts any case of a status', () => {
    const gates = collectGate('lint=pass', collectGate('tests=PASS', undefined));
    expect(gates).toEqual([
      { name: 'tests', status: 'PASS' },
      { name: 'lint', status: 'PASS' },
    ]);
  });

  it('refuses a gate status that is not PASS, FAIL, ERROR or SKIP', () => {
    expect(() => collectGate('X=MAYBE', undefined)).toThrow(InvalidArgumentError);
    expect(() => collectGate('X=MAYBE', undefined)).toThrow(/PASS, FAIL, ERROR, SKIP/);
  });

  it('refuses a gate without a name or status, and a gate given twice', () => {
    expect(() => collectGate('=PASS', undefined)).toThrow(InvalidArgumentError);
    expect(() => collectGate('tests=', undefined)).toThrow(InvalidArgumentError);
    expect(() => collectGate('tests', undefined)).toThrow(InvalidArgumentError);
    expect(() => collectGate('tests=FAIL', [{ name: 'tests', status: 'PASS' }])).toThrow(/twice/);
  });

  it('splits KEY=VALUE at the first equals sign, so values may hold one', () => {
    expect(collectPair('runtime=>=2.3 <3', undefined)).toEqual({ runtime: '>=2.3 <3' });
    expect(collectPair('a==b', { x: '1' })).toEqual({ x: '1', a: '=b' });
  });

  it('refuses KEY=VALUE without a value and a key given twice', () => {
    expect(() => collectPair('novalue', undefined)).toThrow(InvalidArgumentError);
    expect(() => collectPair('runtime=2', { runtime: '1' })).toThrow(/twice/);
  });

  it('accepts whole-number sequences and ports in range only', () => {
    expect(parseSequence('0')).toBe(0);
    expect(parseSequence('42')).toBe(42);
    expect(() => parseSequence('-1')).toThrow(InvalidArgumentError);
    expect(() => parseSequence('1.5')).toThrow(InvalidArgumentError);
    expect(parsePort('7070')).toBe(7070);
    expect(() => parsePort('65536')).toThrow(InvalidArgumentError);
  });

  it('accepts a digest or NAME@VERSION as a pack reference', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(parsePackRef(digest)).toBe(digest);
    expect(parsePackRef('kb@1.2.3')).toBe('kb@1.2.3');
    expect(() => parsePackRef('kb')).toThrow(InvalidArgumentError);
    expect(() => parsePackRef('sha256:abc')).toThrow(InvalidArgumentError);
  });

  it('accepts only http and https server URLs', () => {
    expect(parseServerUrl('http://127.0.0.1:7070')).toBe('http://127.0.0.1:7070');
    expect(() => parseServerUrl('ftp://example.org')).toThrow(InvalidArgumentError);
    expect(() => parseServerUrl('not a url')).toThrow(InvalidArgumentError);
  });
});
