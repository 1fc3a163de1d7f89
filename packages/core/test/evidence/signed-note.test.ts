import { createHash, createPublicKey, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cosign,
  cosignatureLine,
  decisionStatement,
  ed25519PrivateKey,
  ed25519Seed,
  formatCheckpoint,
  IN_TOTO_PAYLOAD_TYPE,
  logEntryOf,
  NOTE_COSIGNATURE_V1,
  noteVerifierOf,
  openLogEntry,
  parseCheckpoint,
  parseNote,
  parseVerifierKey,
  preAuthEncoding,
  rawPublicKey,
  requireWitnessQuorum,
  signNote,
  verifierKeyString,
  verifyCheckpoint,
  verifyCosignature,
  verifyNote,
} from '../../src/index.ts';
import { lockgateErrorOf, seededKey } from '../fixtures.ts';

const logKey = seededKey(1);
const otherKey = seededKey(2);
const witnessKey = seededKey(3);
const ORIGIN = 'lockgate.test/log';
const root = createHash('sha256').update('root').digest();
const body = formatCheckpoint({ origin: ORIGIN, size: 42, rootHash: root, extensions: [] });

describe('signed notes', () => {
  it('compute the key id as the first 4 bytes of SHA-256(name, newline, type, key)', () => {
    const vkey = verifierKeyString(ORIGIN, logKey);
    const [name, id, ...rest] = vkey.split('+') as [string, string, ...string[]];
    const material = rest.join('+');
    expect(name).toBe(ORIGIN);
    const raw = Buffer.from(material, 'base64');
    expect(raw[0]).toBe(0x01);
    const expected = createHash('sha256')
      .update(Buffer.concat([Buffer.from(`${ORIGIN}\n`), raw]))
      .digest()
      .subarray(0, 4)
      .toString('hex');
    expect(id).toBe(expected);
    expect(parseVerifierKey(vkey).name).toBe(ORIGIN);
  });

  it('refuse a verifier key whose id does not match its name and key', () => {
    const vkey = verifierKeyString(ORIGIN, logKey);
    const [, id, ...rest] = vkey.split('+') as [string, string, ...string[]];
    const material = rest.join('+');
    lockgateErrorOf(() => parseVerifierKey(`other.test/log+${id}+${material}`), 'KEY_INVALID');
    lockgateErrorOf(() => parseVerifierKey(`${ORIGIN}+00000000+${material}`), 'KEY_INVALID');
    lockgateErrorOf(() => parseVerifierKey('nonsense'), 'KEY_INVALID');
  });

  it('sign text that an independent Ed25519 check of the signature line accepts', () => {
    const note = signNote(body, ORIGIN, logKey);
    expect(note.startsWith(`${body}\n\u2014 ${ORIGIN} `)).toBe(true);
    const line = note.slice(body.length + 1, -1);
    const bytes = Buffer.from(line.split(' ')[2]!, 'base64');
    expect(bytes.length).toBe(68);
    expect(verify(null, Buffer.from(body), rawKeyObject(logKey), bytes.subarray(4))).toBe(true);
  });

  it('verify with the right key and name the failure otherwise', () => {
    const note = signNote(body, ORIGIN, logKey);
    const verifier = noteVerifierOf(ORIGIN, logKey);
    expect(verifyNote(note, verifier).text).toBe(body);
    lockgateErrorOf(
      () => verifyNote(note, noteVerifierOf(ORIGIN, otherKey)),
      'CHECKPOINT_SIGNER_UNTRUSTED',
    );
    const tampered = note.replace('\n42\n', '\n43\n');
    lockgateErrorOf(() => verifyNote(tampered, verifier), 'CHECKPOINT_SIGNATURE_INVALID');
    lockgateErrorOf(() => verifyNote(body, verifier), 'CHECKPOINT_INVALID');
  });

  it('fail for any changed byte of a signed checkpoint', () => {
    const note = signNote(body, ORIGIN, logKey);
    const verifier = noteVerifierOf(ORIGIN, logKey);
    const bytes = Buffer.from(note, 'utf8');
    fc.assert(
      fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), (at, bit) => {
        const copy = Buffer.from(bytes);
        copy[at]! ^= bit;
        const text = copy.toString('utf8');
        expect(() => verifyCheckpoint(text, verifier)).toThrow(
          expect.objectContaining({
            code: expect.stringMatching(
              /^CHECKPOINT_(INVALID|SIGNATURE_INVALID|SIGNER_UNTRUSTED)$/,
            ) as unknown,
          }),
        );
      }),
      { numRuns: 300 },
    );
  });
});

describe('checkpoints', () => {
  it('format and parse origin, size, base64 root and extension lines', () => {
    const text = formatCheckpoint({ origin: ORIGIN, size: 7, rootHash: root, extensions: ['x y'] });
    expect(text).toBe(`${ORIGIN}\n7\n${root.toString('base64')}\nx y\n`);
    const parsed = parseCheckpoint(text);
    expect(parsed.size).toBe(7);
    expect(Buffer.from(parsed.rootHash).equals(root)).toBe(true);
    expect(parsed.extensions).toEqual(['x y']);
  });

  it('refuse a size with leading zeros, a short root or a missing newline', () => {
    lockgateErrorOf(
      () => parseCheckpoint(`${ORIGIN}\n07\n${root.toString('base64')}\n`),
      'CHECKPOINT_INVALID',
    );
    lockgateErrorOf(() => parseCheckpoint(`${ORIGIN}\n7\nAAAA\n`), 'CHECKPOINT_INVALID');
    lockgateErrorOf(
      () => parseCheckpoint(`${ORIGIN}\n7\n${root.toString('base64')}`),
      'CHECKPOINT_INVALID',
    );
  });

  it('must come from the expected origin', () => {
    const foreign = formatCheckpoint({
      origin: 'x.test/log',
      size: 1,
      rootHash: root,
      extensions: [],
    });
    const note = signNote(foreign, ORIGIN, logKey);
    lockgateErrorOf(
      () => verifyCheckpoint(note, noteVerifierOf(ORIGIN, logKey)),
      'CHECKPOINT_SIGNER_UNTRUSTED',
    );
  });
});

describe('cosignatures', () => {
  const witness = noteVerifierOf('witness.test/w1', witnessKey, NOTE_COSIGNATURE_V1);

  it('sign cosignature/v1, the time line and the body, with an 8-byte big-endian timestamp', () => {
    const signature = cosign(body, 'witness.test/w1', witnessKey, 1_700_000_000);
    const bytes = Buffer.from(signature.signature);
    expect(bytes.readBigUInt64BE(0)).toBe(1_700_000_000n);
    const message = Buffer.from(`cosignature/v1\ntime 1700000000\n${body}`);
    expect(verify(null, message, rawKeyObject(witnessKey), bytes.subarray(8))).toBe(true);
    expect(verifyCosignature(body, signature, witness)).toBe(1_700_000_000);
  });

  it('count toward a quorum only when they verify', () => {
    const note = `${signNote(body, ORIGIN, logKey)}${cosignatureLine(body, 'witness.test/w1', witnessKey, 5)}`;
    expect(parseNote(note).signatures).toHaveLength(2);
    expect(requireWitnessQuorum(note, [witness], 1)).toEqual(['witness.test/w1']);
    lockgateErrorOf(() => requireWitnessQuorum(note, [witness], 2), 'WITNESS_QUORUM_NOT_MET');
    const other = cosign(body.replace('42', '41'), 'witness.test/w1', witnessKey, 5);
    lockgateErrorOf(() => verifyCosignature(body, other, witness), 'COSIGNATURE_INVALID');
    // still a valid log checkpoint with an extra line
    expect(verifyCheckpoint(note, noteVerifierOf(ORIGIN, logKey)).checkpoint.size).toBe(42);
  });

  it('keep a witness key as a seed that gives the same key back', () => {
    const seed = ed25519Seed(witnessKey);
    expect(
      Buffer.from(rawPublicKey(ed25519PrivateKey(seed))).equals(
        Buffer.from(rawPublicKey(witnessKey)),
      ),
    ).toBe(true);
  });
});

describe('log entries', () => {
  const signer = { keyId: 'k1', privateKey: logKey };
  const publicKey = { keyId: 'k1', publicKey: rawKeyObject(logKey) };
  const record = { seq: 3, digest: `sha256:${'a'.repeat(64)}`, kind: 'release.promoted' };

  it('are in-toto statements in DSSE envelopes whose signature covers the PAE', () => {
    const pack = `sha256:${'b'.repeat(64)}`;
    const entry = logEntryOf(decisionStatement(record, { packs: [pack] }), signer);
    expect(entry.envelope.payloadType).toBe(IN_TOTO_PAYLOAD_TYPE);
    const payload = Buffer.from(entry.envelope.payload, 'base64');
    const statement = JSON.parse(payload.toString()) as Record<string, unknown>;
    expect(statement['_type']).toBe('https://in-toto.io/Statement/v1');
    expect(statement['subject']).toEqual([
      { name: `pack:${pack}`, digest: { sha256: 'b'.repeat(64) } },
    ]);
    const sig = Buffer.from(entry.envelope.signatures[0]!.sig, 'base64');
    const pae = preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, payload);
    expect(
      Buffer.from(pae)
        .toString()
        .startsWith(`DSSEv1 28 ${IN_TOTO_PAYLOAD_TYPE} ${payload.length} `),
    ).toBe(true);
    expect(verify(null, pae, rawKeyObject(logKey), sig)).toBe(true);
    const opened = openLogEntry(entry.envelope, publicKey);
    expect(Buffer.from(opened.leafHash).equals(Buffer.from(entry.leafHash))).toBe(true);
  });

  it('name the record itself when it names no pack or index', () => {
    const statement = decisionStatement(record);
    expect(statement.subject).toEqual([
      { name: 'decision-record:3', digest: { sha256: 'a'.repeat(64) } },
    ]);
  });

  it('refuse a changed payload or a signature by another key', () => {
    const entry = logEntryOf(decisionStatement(record), signer);
    const payload = Buffer.from(entry.envelope.payload, 'base64');
    payload[10]! ^= 1;
    const changed = { ...entry.envelope, payload: payload.toString('base64') };
    lockgateErrorOf(() => openLogEntry(changed, publicKey), 'RECORD_SIGNATURE_INVALID');
    const other = { keyId: 'k1', publicKey: rawKeyObject(otherKey) };
    lockgateErrorOf(() => openLogEntry(entry.envelope, other), 'RECORD_SIGNATURE_INVALID');
    lockgateErrorOf(() => openLogEntry({ payload: '!' }, publicKey), 'ENVELOPE_INVALID');
  });
});

function rawKeyObject(privateKey: KeyObject): KeyObject {
  return createPublicKey(privateKey);
}
