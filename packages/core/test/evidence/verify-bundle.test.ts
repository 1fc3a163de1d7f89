import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BUNDLE_CHECKPOINT_FILE,
  BUNDLE_INDEX_FILE,
  canonicalBytes,
  contextPath,
  LockgateError,
  packManifestPath,
  readEvidenceBundle,
  recordEnvelopePath,
  recordProofPath,
  stageAttestation,
  verifyEvidenceBundle,
  writeEvidenceBundle,
} from '../../src/index.ts';
import type { BundleTrust, ErrorCode } from '../../src/index.ts';
import { seededKey, trustOf } from '../fixtures.ts';
import { makeBundle } from './bundle-fixture.ts';

const fixture = makeBundle({ releaseRecords: 5, otherRecords: 4 });

function codeOf(
  files: ReadonlyMap<string, Uint8Array>,
  trust: BundleTrust = fixture.trust,
): string {
  try {
    verifyEvidenceBundle(files, trust);
  } catch (error) {
    if (error instanceof LockgateError) return error.code;
    throw error;
  }
  return 'OK';
}

/** The bundle with one byte of one file changed to another value. */
function flipped(name: string, at: number, by: number): Map<string, Uint8Array> {
  return flippedIn(fixture.files, name, at, by);
}

function flippedIn(
  from: ReadonlyMap<string, Uint8Array>,
  name: string,
  at: number,
  by: number,
): Map<string, Uint8Array> {
  const files = new Map(from);
  const bytes = Uint8Array.from(files.get(name) ?? []);
  const i = at % bytes.length;
  bytes[i] = (bytes[i] as number) ^ by;
  files.set(name, bytes);
  return files;
}

function withIndex(records: number[]): Map<string, Uint8Array> {
  const files = new Map(fixture.files);
  const index = JSON.parse(Buffer.from(files.get(BUNDLE_INDEX_FILE) ?? []).toString()) as Record<
    string,
    unknown
  >;
  files.set(BUNDLE_INDEX_FILE, canonicalBytes({ ...index, records }));
  return files;
}

const recordIndex = fc.nat({ max: fixture.seqs.length - 1 });
const position = fc.nat({ max: 100_000 });
const xor = fc.integer({ min: 1, max: 255 });

describe('evidence bundle verification', () => {
  it('accepts an untouched bundle and says what it holds', () => {
    const report = verifyEvidenceBundle(fixture.files, fixture.trust);
    expect(report).toMatchObject({
      release: 'rel_1',
      records: fixture.seqs.length,
      outcome: 'completed',
      witnesses: ['w.test/a', 'w.test/b'],
      contexts: 0,
    });
    expect(report.packs).toHaveLength(1);
  });

  it('reads back from its .tar.gz exactly the files it was written from, byte for byte', async () => {
    const bytes = await writeEvidenceBundle(fixture.files, ['contexts']);
    expect(Buffer.from(await writeEvidenceBundle(fixture.files, ['contexts']))).toEqual(
      Buffer.from(bytes),
    );
    const read = await readEvidenceBundle(bytes);
    expect([...read.keys()].sort()).toEqual([...fixture.files.keys()].sort());
    for (const [name, data] of fixture.files)
      expect(Buffer.from(read.get(name) ?? [])).toEqual(Buffer.from(data));
    expect(verifyEvidenceBundle(read, fixture.trust).records).toBe(fixture.seqs.length);
  });

  it('refuses any changed byte of a record envelope with RECORD_SIGNATURE_INVALID', () => {
    fc.assert(
      fc.property(recordIndex, position, xor, (r, at, by) => {
        const name = recordEnvelopePath(fixture.seqs[r] as number);
        expect(codeOf(flipped(name, at, by))).toBe('RECORD_SIGNATURE_INVALID');
      }),
      { numRuns: 300 },
    );
  });

  it('refuses any changed byte of a record inside its envelope with RECORD_SIGNATURE_INVALID', () => {
    fc.assert(
      fc.property(recordIndex, position, xor, (r, at, by) => {
        const name = recordEnvelopePath(fixture.seqs[r] as number);
        const files = new Map(fixture.files);
        const envelope = JSON.parse(Buffer.from(files.get(name) ?? []).toString()) as {
          payload: string;
        };
        const payload = Buffer.from(envelope.payload, 'base64');
        const i = at % payload.length;
        payload[i] = (payload[i] as number) ^ by;
        files.set(name, canonicalBytes({ ...envelope, payload: payload.toString('base64') }));
        expect(codeOf(files)).toBe('RECORD_SIGNATURE_INVALID');
      }),
      { numRuns: 200 },
    );
  });

  it('refuses any changed byte of an inclusion proof with RECORD_NOT_INCLUDED', () => {
    fc.assert(
      fc.property(recordIndex, position, xor, (r, at, by) => {
        const name = recordProofPath(fixture.seqs[r] as number);
        expect(codeOf(flipped(name, at, by))).toBe('RECORD_NOT_INCLUDED');
      }),
      { numRuns: 300 },
    );
  });

  it('refuses any changed byte of the checkpoint with a checkpoint or witness code', () => {
    const codes: ErrorCode[] = [
      'CHECKPOINT_SIGNATURE_INVALID',
      'CHECKPOINT_SIGNER_UNTRUSTED',
      'COSIGNATURE_INVALID',
      'WITNESS_QUORUM_NOT_MET',
    ];
    fc.assert(
      fc.property(position, xor, (at, by) => {
        expect(codes).toContain(codeOf(flipped(BUNDLE_CHECKPOINT_FILE, at, by)));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses any changed byte of a pack manifest with a PACK_ code', () => {
    const [pack] = verifyEvidenceBundle(fixture.files, fixture.trust).packs;
    const name = packManifestPath(pack?.digest ?? '');
    fc.assert(
      fc.property(position, xor, (at, by) => {
        expect(codeOf(flipped(name, at, by))).toMatch(/^PACK_/);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses any changed byte of bundle.json', () => {
    fc.assert(
      fc.property(position, xor, (at, by) => {
        expect(codeOf(flipped(BUNDLE_INDEX_FILE, at, by))).not.toBe('OK');
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a dropped record, with its files gone too, with RECORD_MISSING', () => {
    fc.assert(
      fc.property(recordIndex, (r) => {
        const seq = fixture.seqs[r] as number;
        const files = withIndex(fixture.seqs.filter((s) => s !== seq));
        files.delete(recordEnvelopePath(seq));
        files.delete(recordProofPath(seq));
        expect(codeOf(files)).toBe('RECORD_MISSING');
      }),
    );
  });

  it('refuses a duplicated record with RECORD_MISSING', () => {
    fc.assert(
      fc.property(recordIndex, (r) => {
        const seqs = [...fixture.seqs];
        seqs.splice(r, 0, fixture.seqs[r] as number);
        expect(codeOf(withIndex(seqs))).toBe('RECORD_MISSING');
      }),
    );
  });

  it('refuses reordered records, in the index or by swapping their files, with RECORD_MISSING', () => {
    fc.assert(
      fc.property(recordIndex, recordIndex, (a, b) => {
        fc.pre(a !== b);
        const seqs = [...fixture.seqs];
        [seqs[a], seqs[b]] = [seqs[b] as number, seqs[a] as number];
        expect(codeOf(withIndex(seqs))).toBe('RECORD_MISSING');

        const files = new Map(fixture.files);
        const [sa, sb] = [fixture.seqs[a] as number, fixture.seqs[b] as number];
        for (const path of [recordEnvelopePath, recordProofPath]) {
          files.set(path(sa), fixture.files.get(path(sb)) as Uint8Array);
          files.set(path(sb), fixture.files.get(path(sa)) as Uint8Array);
        }
        expect(codeOf(files)).toBe('RECORD_MISSING');
      }),
    );
  });

  it('refuses a checkpoint not signed by the trusted log key with CHECKPOINT_SIGNER_UNTRUSTED', () => {
    const other = makeBundle({ releaseRecords: 1, otherRecords: 0 });
    const trust = {
      ...fixture.trust,
      logKey: { ...other.trust.logKey, name: 'lockgate/log/other' },
    };
    expect(codeOf(fixture.files, trust)).toBe('CHECKPOINT_SIGNER_UNTRUSTED');
  });

  it('needs the required number of trusted witnesses', () => {
    expect(codeOf(fixture.files, { ...fixture.trust, minWitnesses: 3 })).toBe(
      'WITNESS_QUORUM_NOT_MET',
    );
    const one = fixture.witnesses.slice(0, 1);
    expect(codeOf(fixture.files, { ...fixture.trust, witnesses: one, minWitnesses: 2 })).toBe(
      'WITNESS_QUORUM_NOT_MET',
    );
    expect(codeOf(fixture.files, { ...fixture.trust, witnesses: one, minWitnesses: 1 })).toBe('OK');
  });

  it('refuses manifests signed by no trusted build key with PACK_SIGNER_UNTRUSTED', () => {
    expect(codeOf(fixture.files, { ...fixture.trust, buildKeys: [trustOf(seededKey(7))] })).toBe(
      'PACK_SIGNER_UNTRUSTED',
    );
  });

  it('refuses a file its layout does not name with BUNDLE_INVALID, naming the file', () => {
    const files = new Map(fixture.files);
    files.set('records/extra.json', new Uint8Array([1]));
    try {
      verifyEvidenceBundle(files, fixture.trust);
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({
        code: 'BUNDLE_INVALID',
        details: { item: 'records/extra.json' },
      });
    }
  });

  it('names the first failing record when several are broken', () => {
    const [first, second] = fixture.seqs as [number, number];
    const files = flipped(recordProofPath(second), 40, 1);
    files.set(recordProofPath(first), new Uint8Array([1]));
    try {
      verifyEvidenceBundle(files, fixture.trust);
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({
        code: 'RECORD_NOT_INCLUDED',
        details: { item: recordProofPath(first) },
      });
    }
  });
});

describe('replay from an evidence bundle', () => {
  const decided = makeBundle({ decided: true, otherRecords: 3 });
  const [digest, stored] = [...decided.contexts][0] as [string, Record<string, unknown>];
  const decisions = decided.seqs.length - 1; // every record but the seal

  function failure(files: ReadonlyMap<string, Uint8Array>): LockgateError {
    try {
      verifyEvidenceBundle(files, decided.trust);
    } catch (error) {
      if (error instanceof LockgateError) return error;
      throw error;
    }
    return expect.unreachable('the bundle verified');
  }

  it('replays every verdict of an untouched bundle on the context it carries', () => {
    expect(decisions).toBeGreaterThan(1);
    const report = verifyEvidenceBundle(decided.files, decided.trust);
    expect(report.contexts).toBe(1);
    expect(report.replay).toEqual({
      total: decisions,
      matching: decisions,
      mismatches: 0,
      matchRate: 1,
      skipped: 1,
    });
  });

  it('refuses a bundle whose context was changed with REPLAY_MISMATCH, naming the record and field', () => {
    const files = new Map(decided.files);
    const edited = structuredClone(stored) as { channel: { constraints: Record<string, string> } };
    // the channel asks for a runtime the pack does not support: the verdict flips
    edited.channel.constraints['runtime'] = '>=3';
    files.set(contextPath(digest), canonicalBytes(edited));
    const error = failure(files);
    expect(error.code).toBe('REPLAY_MISMATCH');
    expect(error.details).toMatchObject({
      item: `record ${decided.seqs[0]}`,
      total: decisions,
      mismatches: decisions,
    });
    // the verification verdict read the constraints: the field that changed is named
    expect(error.details['mismatched']).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          rule: 'verification.passed',
          problem: 'field',
          field: 'rule',
          expected: 'verification.passed',
          actual: 'verification.failed',
          contextIntact: false,
        }),
      ]),
    );
    expect(error.message).toContain('its context was changed');
  });

  it('refuses any changed byte of the context file with REPLAY_MISMATCH', () => {
    fc.assert(
      fc.property(position, xor, (at, by) => {
        const files = new Map(decided.files);
        const bytes = Uint8Array.from(files.get(contextPath(digest)) ?? []);
        const i = at % bytes.length;
        bytes[i] = (bytes[i] as number) ^ by;
        files.set(contextPath(digest), bytes);
        expect(failure(files).code).toBe('REPLAY_MISMATCH');
      }),
      { numRuns: 50 },
    );
  });

  it('refuses a bundle without the context its records name with REPLAY_MISMATCH', () => {
    const files = new Map(decided.files);
    files.delete(contextPath(digest));
    const error = failure(files);
    expect(error.code).toBe('REPLAY_MISMATCH');
    const mismatched = error.details['mismatched'] as { problem: string }[];
    expect(mismatched.map((m) => m.problem)).toEqual(
      Array.from({ length: decisions }, () => 'context_missing'),
    );
  });

  it('refuses a context no record names with BUNDLE_INVALID', () => {
    const files = new Map(decided.files);
    const other = `sha256:${'0'.repeat(64)}`;
    files.set(contextPath(other), canonicalBytes({ release: null }));
    expect(failure(files)).toMatchObject({
      code: 'BUNDLE_INVALID',
      details: { item: contextPath(other) },
    });
  });
});

describe('stage attestation', () => {
  const held = makeBundle({ attested: true, releaseRecords: 3, otherRecords: 2 });
  const [seq] = held.seqs as [number];
  const [digest, list] = [...held.contexts][0] as [string, unknown[]];
  const failure = (files: ReadonlyMap<string, Uint8Array>): LockgateError => {
    try {
      verifyEvidenceBundle(files, held.trust);
    } catch (error) {
      if (error instanceof LockgateError) return error;
      throw error;
    }
    throw new Error('the bundle verified');
  };

  it('verifies a bundle whose attestation holds its targets by digest, the list beside it', () => {
    expect(list).toHaveLength(3);
    expect(verifyEvidenceBundle(held.files, held.trust)).toMatchObject({
      records: held.seqs.length,
      contexts: 1,
    });
  });

  it('refuses the bundle with ATTESTATION_INVALID when the list is missing, edited or cut', () => {
    const path = contextPath(digest);
    const without = new Map(held.files);
    without.delete(path);
    expect(failure(without)).toMatchObject({
      code: 'ATTESTATION_INVALID',
      details: { item: `record ${seq}`, path, length: 3 },
    });
    const edited = new Map(held.files);
    edited.set(
      path,
      canonicalBytes(list.map((t, i) => (i === 2 ? { ...(t as object), activePack: 'x' } : t))),
    );
    expect(failure(edited).code).toBe('ATTESTATION_INVALID');
    const cut = new Map(held.files);
    cut.set(path, canonicalBytes(list.slice(0, 2)));
    expect(failure(cut).code).toBe('ATTESTATION_INVALID');
    // any changed byte of the list
    fc.assert(
      fc.property(position, xor, (at, by) => {
        expect(codeOf(flippedIn(held.files, path, at, by), held.trust)).toBe('ATTESTATION_INVALID');
      }),
      { numRuns: 100 },
    );
  });

  it('keeps each target’s last report and last activation in the window, sorted by target', () => {
    const attestation = stageAttestation({
      release: 'rel_1',
      pack: 'sha256:new',
      stageIndex: 0,
      stage: 'canary',
      from: '2026-01-01T00:00:00.000Z',
      to: '2026-01-01T00:10:00.000Z',
      reports: [
        { targetId: 'b', at: '2026-01-01T00:01:00.000Z', activePack: 'sha256:old' },
        {
          targetId: 'b',
          at: '2026-01-01T00:02:00.000Z',
          activePack: 'sha256:new',
          lastAttempt: {
            kind: 'activate',
            pack: 'sha256:new',
            result: 'ok',
            at: '2026-01-01T00:01:30.000Z',
          },
        },
        {
          targetId: 'a',
          at: '2026-01-01T00:03:00.000Z',
          activePack: 'sha256:old',
          lastAttempt: {
            kind: 'activate',
            pack: 'sha256:new',
            result: 'failed',
            code: 'PACK_FILE_HASH_MISMATCH',
            at: '2026-01-01T00:02:30.000Z',
          },
        },
        { targetId: 'c', at: '2026-01-01T00:11:00.000Z', activePack: 'sha256:new' },
      ],
    });
    expect(attestation.targets.map((t) => [t.target, t.activePack, t.lastAttempt?.result])).toEqual(
      [
        ['a', 'sha256:old', 'failed'],
        ['b', 'sha256:new', 'ok'],
      ],
    );
    expect(attestation.summary).toEqual({
      reporting: 2,
      onPack: 1,
      onOtherPack: 1,
      activationsOk: 1,
      activationsFailed: 1,
    });
  });
});
