import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addSignature,
  createSignedManifest,
  failingGates,
  keyIdOf,
  LockgateError,
  packDigest,
  signBytes,
  signingBytes,
  verifyPack,
  verifyPackFiles,
} from '../src/index.ts';
import type { CreatePackInput, PackManifest } from '../src/index.ts';
import { filesOf, lockgateErrorOf, sampleInput, seededKey, trustOf, utf8 } from './fixtures.ts';

const builder = seededKey(1);
const second = seededKey(2);
const stranger = seededKey(3);
const trustedKeys = [trustOf(builder), trustOf(second)];
const input = sampleInput();
const files = filesOf(input);
const { manifest, digest } = createSignedManifest(input, [builder]);

function withGates(gates: CreatePackInput['provenance']['gates']): CreatePackInput {
  const copy = sampleInput();
  copy.provenance.gates = gates;
  return copy;
}

describe('createSignedManifest', () => {
  it('lists the files sorted by path with their hashes and sizes', () => {
    expect(manifest.files).toEqual([
      {
        path: 'README',
        sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
        size: 0,
      },
      {
        path: 'data/claims.ndjson',
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown,
        size: 18,
        role: 'data',
      },
      {
        path: 'index/terms.json',
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown,
        size: 26,
        role: 'index',
      },
    ]);
    expect(manifest).toMatchObject({ schema: 'lockgate.pack/v1', name: 'kb', sequence: 14 });
  });

  it('returns the digest of the manifest it signed', () => {
    expect(digest).toBe(packDigest(manifest));
    expect(verifyPack(manifest, files, { trustedKeys, expectedDigest: digest }).signedBy).toEqual([
      keyIdOf(builder),
    ]);
  });

  it('signs with every key, in keyId order, and the same input gives the same manifest', () => {
    const a = createSignedManifest(sampleInput(), [builder, second]).manifest;
    const b = createSignedManifest(sampleInput(), [second, builder, second]).manifest;
    expect(b).toEqual(a);
    expect(a.signatures.map((s) => s.keyId)).toEqual([keyIdOf(builder), keyIdOf(second)].sort());
    expect(verifyPack(a, files, { trustedKeys }).signedBy).toHaveLength(2);
  });

  it('defaults requires to an empty object', () => {
    const { requires: _requires, ...rest } = sampleInput();
    expect(createSignedManifest(rest, [builder]).manifest.requires).toEqual({});
  });

  it('refuses a build that lists no gates with BUILD_GATES_MISSING', () => {
    lockgateErrorOf(() => createSignedManifest(withGates([]), [builder]), 'BUILD_GATES_MISSING');
  });

  it('refuses a build with a gate that did not pass, naming the failing gates', () => {
    const error = lockgateErrorOf(
      () =>
        createSignedManifest(
          withGates([
            { name: 'validate', status: 'PASS' },
            { name: 'compile', status: 'FAIL', details: 'type error' },
            { name: 'lint', status: 'SKIP' },
          ]),
          [builder],
        ),
      'BUILD_GATE_FAILED',
    );
    expect(error.details.gates).toEqual([
      { name: 'compile', status: 'FAIL', details: 'type error' },
      { name: 'lint', status: 'SKIP' },
    ]);
  });

  it('refuses to make a pack without a signing key', () => {
    lockgateErrorOf(() => createSignedManifest(sampleInput(), []), 'KEY_INVALID');
  });

  it.each([
    ['an unsafe path', { path: '../outside', bytes: utf8('x') }],
    ['a path given twice', { path: 'README', bytes: utf8('x') }],
  ])('refuses %s with PACK_MANIFEST_INVALID', (_name, file) => {
    const bad = sampleInput();
    bad.files.push(file);
    lockgateErrorOf(() => createSignedManifest(bad, [builder]), 'PACK_MANIFEST_INVALID');
  });

  it('refuses a version that is not semver with PACK_MANIFEST_INVALID', () => {
    lockgateErrorOf(
      () => createSignedManifest({ ...sampleInput(), version: 'latest' }, [builder]),
      'PACK_MANIFEST_INVALID',
    );
  });
});

describe('addSignature', () => {
  it('adds a second signature and keeps the digest', () => {
    const twice = addSignature(manifest, second);
    expect(packDigest(twice)).toBe(digest);
    expect(twice.signatures).toHaveLength(2);
    expect(verifyPack(twice, files, { trustedKeys }).signedBy.sort()).toEqual(
      [keyIdOf(builder), keyIdOf(second)].sort(),
    );
    expect(manifest.signatures).toHaveLength(1);
  });

  it('replaces rather than repeats a signature by the same key', () => {
    expect(addSignature(manifest, builder)).toEqual(manifest);
  });

  it('refuses an invalid manifest', () => {
    lockgateErrorOf(
      () => addSignature({ ...manifest, name: 'Bad Name' }, second),
      'PACK_MANIFEST_INVALID',
    );
  });
});

describe('verifyPack', () => {
  it('accepts the manifest as JSON bytes, text or value', () => {
    const json = JSON.stringify(manifest);
    for (const form of [utf8(json), json, JSON.parse(json) as unknown]) {
      expect(verifyPack(form, files, { trustedKeys }).digest).toBe(digest);
    }
  });

  it('refuses a manifest that does not parse', () => {
    lockgateErrorOf(() => verifyPack(utf8('{'), files, { trustedKeys }), 'PACK_MANIFEST_INVALID');
    lockgateErrorOf(
      () => verifyPack({ ...manifest, extra: 1 }, files, { trustedKeys }),
      'PACK_MANIFEST_INVALID',
    );
  });

  it('refuses a pack whose digest is not the one expected', () => {
    const other = `sha256:${'0'.repeat(64)}` as const;
    const error = lockgateErrorOf(
      () => verifyPack(manifest, files, { trustedKeys, expectedDigest: other }),
      'PACK_DIGEST_MISMATCH',
    );
    expect(error.details).toEqual({ expected: other, actual: digest });
  });

  it('refuses a manifest changed after signing', () => {
    const changed: PackManifest = { ...manifest, sequence: manifest.sequence + 1 };
    const error = lockgateErrorOf(
      () => verifyPack(changed, files, { trustedKeys }),
      'PACK_SIGNATURE_INVALID',
    );
    expect(error.details.keyId).toBe(keyIdOf(builder));
  });

  it('refuses a signature that claims a trusted key but was made by another', () => {
    const forged: PackManifest = {
      ...manifest,
      signatures: [
        {
          keyId: keyIdOf(builder),
          alg: 'ed25519',
          sig: signBytes(signingBytes(manifest), stranger),
        },
      ],
    };
    lockgateErrorOf(() => verifyPack(forged, files, { trustedKeys }), 'PACK_SIGNATURE_INVALID');
  });

  it('refuses a pack signed only by untrusted keys', () => {
    const error = lockgateErrorOf(
      () => verifyPack(manifest, files, { trustedKeys: [trustOf(stranger)] }),
      'PACK_SIGNER_UNTRUSTED',
    );
    expect(error.details.keyIds).toEqual([keyIdOf(builder)]);
    lockgateErrorOf(
      () => verifyPack({ ...manifest, signatures: [] }, files, { trustedKeys }),
      'PACK_SIGNER_UNTRUSTED',
    );
  });

  it('ignores signatures by unknown keys and reports only trusted signers', () => {
    const mixed = addSignature(manifest, stranger);
    expect(verifyPack(mixed, files, { trustedKeys }).signedBy).toEqual([keyIdOf(builder)]);
  });

  it('refuses a pack that lacks a listed file', () => {
    const fewer = new Map(files);
    fewer.delete('index/terms.json');
    const error = lockgateErrorOf(
      () => verifyPack(manifest, fewer, { trustedKeys }),
      'PACK_FILE_MISSING',
    );
    expect(error.details.path).toBe('index/terms.json');
  });

  it('refuses a pack whose file changed by one byte', () => {
    const bytes = Uint8Array.from(files.get('data/claims.ndjson') ?? []);
    bytes[3] = (bytes[3] ?? 0) ^ 1;
    const changed = new Map(files).set('data/claims.ndjson', bytes);
    const error = lockgateErrorOf(
      () => verifyPack(manifest, changed, { trustedKeys }),
      'PACK_FILE_HASH_MISMATCH',
    );
    expect(error.details.path).toBe('data/claims.ndjson');
  });

  it('refuses a pack whose file was truncated', () => {
    const changed = new Map(files).set('index/terms.json', utf8('{"terms":[]}'));
    const error = lockgateErrorOf(
      () => verifyPack(manifest, changed, { trustedKeys }),
      'PACK_FILE_HASH_MISMATCH',
    );
    expect(error.details).toMatchObject({
      path: 'index/terms.json',
      expected: { size: 26 },
      actual: { size: 12 },
    });
  });

  it('refuses a pack that holds a file the manifest does not list', () => {
    const more = new Map(files).set('extra.bin', utf8('!'));
    const error = lockgateErrorOf(
      () => verifyPack(manifest, more, { trustedKeys }),
      'PACK_FILE_UNLISTED',
    );
    expect(error.details.path).toBe('extra.bin');
  });

  it('reports the first failure in the documented order', () => {
    const fewer = new Map(files);
    fewer.delete('README');
    const forged: PackManifest = {
      ...manifest,
      signatures: [{ ...manifest.signatures[0]!, sig: 'AAAA' }],
    };
    lockgateErrorOf(() => verifyPack(forged, fewer, { trustedKeys }), 'PACK_SIGNATURE_INVALID');
    lockgateErrorOf(
      () => verifyPack(forged, fewer, { trustedKeys, expectedDigest: `sha256:${'1'.repeat(64)}` }),
      'PACK_DIGEST_MISMATCH',
    );
    lockgateErrorOf(
      () => verifyPack(manifest, fewer.set('extra', utf8('x')), { trustedKeys }),
      'PACK_FILE_MISSING',
    );
  });

  it('never verifies a pack with any one file byte changed', () => {
    const paths = [...files.keys()].filter((p) => (files.get(p)?.byteLength ?? 0) > 0);
    fc.assert(
      fc.property(
        fc.constantFrom(...paths),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (path, at, flip) => {
          const bytes = Uint8Array.from(files.get(path) ?? []);
          const i = at % bytes.byteLength;
          bytes[i] = (bytes[i] ?? 0) ^ flip;
          const changed = new Map(files).set(path, bytes);
          expect(() => verifyPack(manifest, changed, { trustedKeys })).toThrow(LockgateError);
        },
      ),
    );
  });

  it('never verifies a manifest with any one byte of its JSON changed', () => {
    const json = utf8(JSON.stringify(manifest));
    fc.assert(
      fc.property(
        fc.nat({ max: json.byteLength - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (i, flip) => {
          const bytes = Uint8Array.from(json);
          bytes[i] = (bytes[i] ?? 0) ^ flip;
          expect(() => verifyPack(bytes, files, { trustedKeys })).toThrow(LockgateError);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('verifyPackFiles', () => {
  it('checks only the files, so an unsigned manifest passes', () => {
    expect(() => verifyPackFiles({ ...manifest, signatures: [] }, files)).not.toThrow();
  });
});

describe('failingGates', () => {
  it('returns the gates that are not PASS', () => {
    expect(
      failingGates([
        { name: 'a', status: 'PASS' },
        { name: 'b', status: 'ERROR' },
        { name: 'c', status: 'SKIP' },
        { name: 'd', status: 'FAIL' },
      ]).map((g) => g.name),
    ).toEqual(['b', 'c', 'd']);
  });
});
