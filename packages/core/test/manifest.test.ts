import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  createSignedManifest,
  packDigest,
  parseManifest,
  PACK_SCHEMA,
  sha256Hex,
  signingBytes,
  unsafePathReason,
  validateManifest,
} from '../src/index.ts';
import type { PackManifest } from '../src/index.ts';
import { lockgateErrorOf, sampleInput, seededKey, utf8 } from './fixtures.ts';

const signed = createSignedManifest(sampleInput(), [seededKey(1)]).manifest;

function problemsOf(value: unknown): string[] {
  const error = lockgateErrorOf(() => validateManifest(value), 'PACK_MANIFEST_INVALID');
  return error.details.problems as string[];
}

/** A copy of the signed sample manifest, changed by edit. */
function edited(edit: (m: PackManifest) => void): unknown {
  const copy = structuredClone(signed);
  edit(copy);
  return copy;
}

/** A value of the wrong type, for a field the test means to break. */
function wrong<T>(value: unknown): T {
  return value as T;
}

describe('validateManifest', () => {
  it('accepts a manifest made by createSignedManifest and returns an equal copy', () => {
    const valid = validateManifest(signed);
    expect(valid).toEqual(signed);
    expect(valid).not.toBe(signed);
    expect(valid.files).not.toBe(signed.files);
  });

  it('accepts a manifest that survived a JSON round trip', () => {
    expect(validateManifest(JSON.parse(JSON.stringify(signed)))).toEqual(signed);
  });

  it.each<[string, (m: PackManifest) => void, string]>([
    [
      'an unknown top-level field',
      (m) => Object.assign(m, { extra: 1 }),
      'manifest: unknown field "extra"',
    ],
    [
      'an unknown file field',
      (m) => Object.assign(m.files[0]!, { mode: 420 }),
      'files[0]: unknown field "mode"',
    ],
    [
      'an unknown provenance field',
      (m) => Object.assign(m.provenance, { ci: 'x' }),
      'provenance: unknown field "ci"',
    ],
    [
      'an unknown source field',
      (m) => Object.assign(m.provenance.source!, { branch: 'x' }),
      'provenance.source: unknown field',
    ],
    [
      'a missing field',
      (m) => delete (m as Partial<PackManifest>).requires,
      'manifest: missing field "requires"',
    ],
    ['another schema', (m) => (m.schema = wrong('lockgate.pack/v2')), 'schema: must be'],
    ['an uppercase name', (m) => (m.name = 'KB'), 'name: must be'],
    ['a scoped name', (m) => (m.name = '@org/kb'), 'name: must be'],
    ['a name ending in a dot', (m) => (m.name = 'kb.'), 'name: must be'],
    ['a v-prefixed version', (m) => (m.version = 'v1.4.0'), 'version: must be'],
    ['a two-part version', (m) => (m.version = '1.4'), 'version: must be'],
    ['a negative sequence', (m) => (m.sequence = -1), 'sequence: must be an integer >= 0'],
    ['a fractional sequence', (m) => (m.sequence = 1.5), 'sequence: must be an integer >= 0'],
    ['a string sequence', (m) => (m.sequence = wrong('14')), 'sequence: must be an integer >= 0'],
    [
      'a sequence beyond what a 32-bit integer column holds',
      (m) => (m.sequence = 2 ** 31),
      'sequence: must be at most 2147483647',
    ],
    ['files out of order', (m) => m.files.reverse(), 'files must be sorted by path'],
    ['a file listed twice', (m) => m.files.splice(1, 0, m.files[0]!), 'is listed twice'],
    [
      'a file under another file',
      (m) =>
        (m.files = [
          { path: 'a', sha256: 'a'.repeat(64), size: 0 },
          { path: 'a/b', sha256: 'a'.repeat(64), size: 0 },
        ]),
      'files[1].path: "a/b" lies under the file "a"',
    ],
    [
      'an unsafe path',
      (m) => (m.files[0]!.path = '../etc/passwd'),
      "files[0].path: has a '..' segment",
    ],
    [
      'an uppercase hash',
      (m) => (m.files[0]!.sha256 = 'A'.repeat(64)),
      'files[0].sha256: must be 64 lowercase hex',
    ],
    ['a negative size', (m) => (m.files[0]!.size = -1), 'files[0].size'],
    ['an empty role', (m) => (m.files[0]!.role = ''), 'files[0].role: must not be empty'],
    [
      'a number in requires',
      (m) => (m.requires.runtime = wrong(2)),
      'requires.runtime: must be a string',
    ],
    [
      'a lone surrogate in requires',
      (m) => (m.requires.x = '\ud800'),
      'requires.x: must be well-formed Unicode',
    ],
    [
      'an empty build id',
      (m) => (m.provenance.buildId = ''),
      'provenance.buildId: must not be empty',
    ],
    [
      'a local time',
      (m) => (m.provenance.createdAt = '2026-11-22T10:00:00+01:00'),
      'provenance.createdAt',
    ],
    [
      'an impossible date',
      (m) => (m.provenance.createdAt = '2026-02-30T10:00:00Z'),
      'provenance.createdAt',
    ],
    [
      'an unknown gate status',
      (m) => (m.provenance.gates[0]!.status = wrong('OK')),
      'provenance.gates[0].status',
    ],
    [
      'a gate listed twice',
      (m) => m.provenance.gates.push(m.provenance.gates[0]!),
      'gate "validate" is listed twice',
    ],
    [
      'another signature algorithm',
      (m) => (m.signatures[0]!.alg = wrong('rsa')),
      'signatures[0].alg: must be "ed25519"',
    ],
    [
      'a key that signed twice',
      (m) => m.signatures.push(m.signatures[0]!),
      'signatures[1].keyId: the key signed twice',
    ],
    [
      'a short key id',
      (m) => (m.signatures[0]!.keyId = 'abc'),
      'signatures[0].keyId: must be 64 lowercase hex',
    ],
  ])('refuses %s', (_name, edit, problem) => {
    expect(problemsOf(edited(edit)).join('\n')).toContain(problem);
  });

  it('reports every problem, not just the first', () => {
    const problems = problemsOf(
      edited((m) => {
        m.name = 'KB';
        m.sequence = -1;
        m.files[0]!.path = '/abs';
      }),
    );
    expect(problems).toHaveLength(3);
  });

  it.each([null, [], 'manifest', 42])('refuses %j, which is not an object', (value) => {
    expect(problemsOf(value)).toEqual(['manifest: must be an object']);
  });

  it('refuses an object with a prototype of its own, even when its fields match', () => {
    const exotic = Object.assign(Object.create({ inherited: true }) as object, signed);
    expect(problemsOf(exotic)).toEqual(['manifest: must be an object']);
  });

  it('keeps a "__proto__" key in requires as data', () => {
    const manifest = validateManifest(
      edited((m) => (m.requires = JSON.parse('{"__proto__":"x"}') as Record<string, string>)),
    );
    expect(Object.getPrototypeOf(manifest.requires)).toBe(Object.prototype);
    expect(Object.hasOwn(manifest.requires, '__proto__')).toBe(true);
  });
});

describe('parseManifest', () => {
  it('parses and validates JSON bytes', () => {
    expect(parseManifest(utf8(JSON.stringify(signed)))).toEqual(signed);
    expect(parseManifest(JSON.stringify(signed))).toEqual(signed);
  });

  it.each([
    ['text that is not JSON', utf8('{"schema":')],
    ['bytes that are not UTF-8', new Uint8Array([0x7b, 0xff, 0x7d])],
    ['JSON behind a byte order mark', utf8(`\ufeff${JSON.stringify(signed)}`)],
  ])('refuses %s with PACK_MANIFEST_INVALID', (_name, bytes) => {
    lockgateErrorOf(() => parseManifest(bytes), 'PACK_MANIFEST_INVALID');
  });
});

describe('unsafePathReason', () => {
  it.each(['a', 'a/b.txt', '.hidden', 'a..b/c', 'grüße/😀.json', 'x'.repeat(255)])(
    'accepts %j',
    (path) => {
      expect(unsafePathReason(path)).toBeNull();
    },
  );

  it.each([
    ['', 'is empty'],
    ['/etc/passwd', 'is absolute'],
    ['a/', 'has an empty segment'],
    ['a//b', 'has an empty segment'],
    ['./a', "has a '.' segment"],
    ['a/../b', "has a '..' segment"],
    ['..', "has a '..' segment"],
    ['a\\b', 'contains a backslash'],
    ['a\0b', 'contains NUL'],
    ['a\nb', 'contains a control character'],
    ['\ud800', 'is not well-formed Unicode'],
    ['x'.repeat(256), 'has a segment longer than 255 bytes'],
    ['ü'.repeat(128), 'has a segment longer than 255 bytes'],
    [Array.from({ length: 20 }, () => 'x'.repeat(250)).join('/'), 'is longer than 4096 bytes'],
  ])('refuses %j: %s', (path, reason) => {
    expect(unsafePathReason(path)).toBe(reason);
  });
});

describe('packDigest', () => {
  const h = sha256Hex('hi');
  const small: PackManifest = {
    schema: PACK_SCHEMA,
    name: 'kb',
    version: '1.0.0',
    sequence: 1,
    files: [{ path: 'a.txt', sha256: h, size: 2 }],
    requires: {},
    provenance: {
      buildId: 'b1',
      createdAt: '2026-01-01T00:00:00Z',
      gates: [{ name: 'validate', status: 'PASS' }],
    },
    signatures: [{ keyId: 'f'.repeat(64), alg: 'ed25519', sig: 'x' }],
  };
  // Written by hand: keys sorted, no whitespace, signatures left out.
  const jcs =
    `{"files":[{"path":"a.txt","sha256":"${h}","size":2}],"name":"kb",` +
    '"provenance":{"buildId":"b1","createdAt":"2026-01-01T00:00:00Z",' +
    '"gates":[{"name":"validate","status":"PASS"}]},"requires":{},' +
    '"schema":"lockgate.pack/v1","sequence":1,"version":"1.0.0"}';

  it('hashes the JCS text of the manifest without its signatures', () => {
    expect(Buffer.from(signingBytes(small)).toString('utf8')).toBe(jcs);
    expect(packDigest(small)).toBe(`sha256:${createHash('sha256').update(jcs).digest('hex')}`);
  });

  it('does not change when signatures are added or removed', () => {
    expect(packDigest({ ...small, signatures: [] })).toBe(packDigest(small));
    const { signatures: _signatures, ...unsigned } = small;
    expect(packDigest(unsigned)).toBe(packDigest(small));
  });

  it('changes with any signed field', () => {
    const digests = new Set([
      packDigest(small),
      packDigest({ ...small, sequence: 2 }),
      packDigest({ ...small, requires: { runtime: '>=2' } }),
      packDigest({ ...small, files: [{ path: 'a.txt', sha256: h, size: 2, role: 'data' }] }),
      packDigest({ ...small, provenance: { ...small.provenance, buildId: 'b2' } }),
    ]);
    expect(digests.size).toBe(5);
  });
});
