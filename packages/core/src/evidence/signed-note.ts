/**
 * C2SP signed-note (c2sp.org/signed-note) with Ed25519 keys.
 *
 * A note is UTF-8 text ending in a newline, a blank line, then signature lines
 * `— <key name> <base64(4-byte key id || signature)>`. The key id is the first 4 bytes of
 * SHA-256(name || 0x0A || type || public key), where type 0x01 is a plain Ed25519 note
 * signature over the text and 0x04 a timestamped cosignature (tlog-cosignature). A verifier key
 * is published as `<name>+<8 hex digits of the key id>+<base64(type || public key)>`, the form
 * Go's golang.org/x/mod/sumdb/note reads for type 0x01.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { LockgateError } from '../errors.ts';

/** Signature types of the signed-note registry used here. */
export const NOTE_ED25519 = 0x01;
export const NOTE_COSIGNATURE_V1 = 0x04;

/** A key that can verify note signatures of one name, key id and type. */
export interface NoteVerifier {
  readonly name: string;
  /** 4 bytes */
  readonly keyId: Uint8Array;
  readonly type: number;
  /** 32 raw Ed25519 public key bytes */
  readonly publicKey: Uint8Array;
  readonly key: KeyObject;
}

/** A parsed signature line. */
export interface NoteSignature {
  readonly name: string;
  readonly keyId: Uint8Array;
  /** the bytes after the key id (a signature, or a timestamped signature for cosignatures) */
  readonly signature: Uint8Array;
}

export interface Note {
  /** the signed text, ending in a newline */
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

const EM_DASH = '\u2014';
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** SHA-256(name || 0x0A || type || publicKey)[:4]. */
export function noteKeyId(name: string, type: number, publicKey: Uint8Array): Uint8Array {
  checkKeyName(name);
  const hash = createHash('sha256')
    .update(name, 'utf8')
    .update(Uint8Array.of(0x0a, type))
    .update(publicKey)
    .digest();
  return hash.subarray(0, 4);
}

/** The raw 32-byte Ed25519 public key of a public or private key object. */
export function rawPublicKey(key: KeyObject): Uint8Array {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  if (pub.asymmetricKeyType !== 'ed25519') {
    throw new LockgateError('KEY_INVALID', 'Note keys are Ed25519 keys.');
  }
  return pub.export({ type: 'spki', format: 'der' }).subarray(SPKI_ED25519_PREFIX.length);
}

/** A public key object from 32 raw Ed25519 bytes. */
export function ed25519PublicKey(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new LockgateError('KEY_INVALID', 'An Ed25519 key is 32 bytes.');
  return createPublicKey({
    key: Buffer.concat([SPKI_ED25519_PREFIX, raw]),
    format: 'der',
    type: 'spki',
  });
}

/** A private key object from a 32-byte Ed25519 seed. */
export function ed25519PrivateKey(seed: Uint8Array): KeyObject {
  if (seed.length !== 32) throw new LockgateError('KEY_INVALID', 'An Ed25519 seed is 32 bytes.');
  return createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
}

/** The 32-byte seed of an Ed25519 private key. */
export function ed25519Seed(privateKey: KeyObject): Uint8Array {
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
    throw new LockgateError('KEY_INVALID', 'Expected an Ed25519 private key.');
  }
  return privateKey.export({ type: 'pkcs8', format: 'der' }).subarray(PKCS8_ED25519_PREFIX.length);
}

/** `<name>+<hex key id>+<base64(type || public key)>`. */
export function verifierKeyString(name: string, publicKey: KeyObject, type = NOTE_ED25519): string {
  const raw = rawPublicKey(publicKey);
  const id = Buffer.from(noteKeyId(name, type, raw)).toString('hex');
  return `${name}+${id}+${Buffer.concat([Uint8Array.of(type), raw]).toString('base64')}`;
}

/** Parses a verifier key string; checks that its key id matches its name and key. */
export function parseVerifierKey(text: string): NoteVerifier {
  const fail = (why: string): never => {
    throw new LockgateError('KEY_INVALID', `The verifier key is malformed: ${why}.`);
  };
  if (typeof text !== 'string') return fail('not a string');
  // name and key id hold no +; the base64 key may
  const trimmed = text.trim();
  const first = trimmed.indexOf('+');
  const second = trimmed.indexOf('+', first + 1);
  if (first < 0 || second < 0) return fail('expected name+keyid+key');
  const name = trimmed.slice(0, first);
  const idHex = trimmed.slice(first + 1, second);
  const keyB64 = trimmed.slice(second + 1);
  if (!isKeyName(name)) return fail('the name is empty or holds spaces or +');
  if (!/^[0-9a-f]{8}$/.test(idHex)) return fail('the key id is not 8 hex digits');
  const material = strictBase64(keyB64);
  if (material === null || material.length !== 33) return fail('the key is not base64 of 33 bytes');
  const type = material[0] as number;
  if (type !== NOTE_ED25519 && type !== NOTE_COSIGNATURE_V1) {
    return fail(`signature type 0x${type.toString(16)} is not supported`);
  }
  const publicKey = material.subarray(1);
  const keyId = noteKeyId(name, type, publicKey);
  if (Buffer.from(keyId).toString('hex') !== idHex) return fail('the key id does not match');
  return { name, keyId, type, publicKey, key: ed25519PublicKey(publicKey) };
}

/** The verifier of a key for a name and type (for keys held as key objects). */
export function noteVerifierOf(name: string, key: KeyObject, type = NOTE_ED25519): NoteVerifier {
  return parseVerifierKey(verifierKeyString(name, key, type));
}

/** Signs note text with Ed25519 (type 0x01) and returns the signature line. */
export function noteSignatureLine(text: string, name: string, privateKey: KeyObject): string {
  checkText(text);
  const keyId = noteKeyId(name, NOTE_ED25519, rawPublicKey(privateKey));
  const signature = sign(null, Buffer.from(text, 'utf8'), privateKey);
  return signatureLine({ name, keyId, signature });
}

export function signatureLine(signature: NoteSignature): string {
  checkKeyName(signature.name);
  const b64 = Buffer.concat([signature.keyId, signature.signature]).toString('base64');
  return `${EM_DASH} ${signature.name} ${b64}\n`;
}

/** Text + blank line + signature lines. */
export function formatNote(text: string, signatures: readonly NoteSignature[]): string {
  checkText(text);
  if (signatures.length === 0) {
    throw new LockgateError('CHECKPOINT_INVALID', 'A signed note has at least one signature.');
  }
  return `${text}\n${signatures.map(signatureLine).join('')}`;
}

/** Signs note text with one Ed25519 key and returns the whole note. */
export function signNote(text: string, name: string, privateKey: KeyObject): string {
  return `${text}\n${noteSignatureLine(text, name, privateKey)}`;
}

/** Splits a signed note into text and signature lines; throws CHECKPOINT_INVALID. */
export function parseNote(note: string): Note {
  const fail = (why: string): never => {
    throw new LockgateError('CHECKPOINT_INVALID', `The signed note is malformed: ${why}.`);
  };
  if (typeof note !== 'string') return fail('not text');
  if (note.length > 1_000_000) return fail('it is too long');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) return fail('no blank line before the signatures');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (!block.endsWith('\n')) return fail('the last signature line does not end in a newline');
  try {
    checkText(text);
  } catch {
    fail('the text holds control characters or does not end in a newline');
  }
  const signatures: NoteSignature[] = [];
  for (const line of block.slice(0, -1).split('\n')) {
    const match = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (match === null) return fail('a signature line is not "— name base64"');
    const [, name, b64] = match as unknown as [string, string, string];
    if (!isKeyName(name)) return fail('a key name holds +');
    const bytes = strictBase64(b64);
    if (bytes === null || bytes.length < 5) return fail('a signature is not base64 of 5+ bytes');
    signatures.push({ name, keyId: bytes.subarray(0, 4), signature: bytes.subarray(4) });
  }
  if (signatures.length === 0) return fail('it has no signatures');
  return { text, signatures };
}

/** The signatures of a note by one verifier (same name and key id). */
export function signaturesBy(note: Note, verifier: NoteVerifier): NoteSignature[] {
  return note.signatures.filter(
    (s) => s.name === verifier.name && Buffer.from(s.keyId).equals(Buffer.from(verifier.keyId)),
  );
}

/**
 * Verifies the type-0x01 signature of `verifier` on a note and returns the parsed note.
 * CHECKPOINT_SIGNER_UNTRUSTED when the note carries no line of that key,
 * CHECKPOINT_SIGNATURE_INVALID when a line of that key does not verify.
 */
export function verifyNote(noteText: string, verifier: NoteVerifier): Note {
  const note = parseNote(noteText);
  if (verifier.type !== NOTE_ED25519) {
    throw new LockgateError('KEY_INVALID', 'The log key must be a type 0x01 Ed25519 note key.');
  }
  const mine = signaturesBy(note, verifier);
  if (mine.length === 0) {
    throw new LockgateError(
      'CHECKPOINT_SIGNER_UNTRUSTED',
      `The note carries no signature by ${verifier.name}.`,
      { details: { name: verifier.name } },
    );
  }
  for (const s of mine) {
    if (
      s.signature.length !== 64 ||
      !verify(null, Buffer.from(note.text), verifier.key, s.signature)
    ) {
      throw new LockgateError(
        'CHECKPOINT_SIGNATURE_INVALID',
        `The signature by ${verifier.name} does not verify.`,
        { details: { name: verifier.name } },
      );
    }
  }
  return note;
}

export function isKeyName(name: string): boolean {
  return name.length > 0 && !name.includes('+') && !/\s/u.test(name);
}

function checkKeyName(name: string): void {
  if (!isKeyName(name)) {
    throw new LockgateError('KEY_INVALID', 'A note key name is non-empty, without spaces or +.');
  }
}

function checkText(text: string): void {
  // eslint-disable-next-line no-control-regex
  if (!text.endsWith('\n') || /[\u0000-\u0009\u000b-\u001f\u007f]/.test(text)) {
    throw new LockgateError(
      'CHECKPOINT_INVALID',
      'Note text ends in a newline and holds no other control characters.',
    );
  }
}

/** Standard base64 with padding, in its one canonical spelling; null otherwise. */
export function strictBase64(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : null;
}
