import { createPrivateKey, createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { expect } from 'vitest';
import { pack } from 'tar-stream';
import type { Header } from 'tar-stream';
import { LockgateError, parsePublicKey } from '../src/index.ts';
import type { CreatePackInput, ErrorCode, PublicKeyInfo } from '../src/index.ts';

// PKCS#8 DER of an Ed25519 private key is this prefix followed by the 32-byte seed.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** A fixed Ed25519 private key, the same on every run. */
export function seededKey(seed: number): KeyObject {
  return createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, Buffer.alloc(32, seed)]),
    format: 'der',
    type: 'pkcs8',
  });
}

export function publicPem(key: KeyObject): string {
  return createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
}

export function trustOf(key: KeyObject): PublicKeyInfo {
  return parsePublicKey(publicPem(key));
}

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function sampleInput(): CreatePackInput {
  return {
    name: 'kb',
    version: '1.4.0',
    sequence: 14,
    files: [
      { path: 'index/terms.json', bytes: utf8('{"terms":["alpha","beta"]}'), role: 'index' },
      { path: 'data/claims.ndjson', bytes: utf8('{"id":1}\n{"id":2}\n'), role: 'data' },
      { path: 'README', bytes: new Uint8Array() },
    ],
    requires: { runtime: '>=2.3 <3', schema: 'kb/3' },
    provenance: {
      buildId: 'build-42',
      source: { repo: 'https://example.org/kb.git', commit: 'a1b2c3d' },
      createdAt: '2026-11-22T10:00:00Z',
      gates: [
        { name: 'validate', status: 'PASS' },
        { name: 'compile', status: 'PASS', details: '3 files' },
      ],
      inputs: { claims: 'sha256:' + '0'.repeat(64) },
    },
  };
}

export function filesOf(input: CreatePackInput): Map<string, Uint8Array> {
  return new Map(input.files.map((f) => [f.path, f.bytes]));
}

/** Runs fn, expects a LockgateError with this code, and returns it for further checks. */
export function lockgateErrorOf(fn: () => unknown, code: ErrorCode): LockgateError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  return expectCode(thrown, code);
}

export async function lockgateRejectionOf(
  promise: Promise<unknown>,
  code: ErrorCode,
): Promise<LockgateError> {
  let thrown: unknown;
  try {
    await promise;
  } catch (error) {
    thrown = error;
  }
  return expectCode(thrown, code);
}

function expectCode(thrown: unknown, code: ErrorCode): LockgateError {
  expect(thrown).toBeInstanceOf(LockgateError);
  const error = thrown as LockgateError;
  expect({ code: error.code, message: error.message }).toMatchObject({ code });
  return error;
}

export type TarEntry = Partial<Header> & { name: string; body?: Uint8Array };

/** A plain tar built entry by entry, for archives writePackArchive would never write. */
export async function tarOf(entries: TarEntry[]): Promise<Uint8Array> {
  const tar = pack();
  const chunks: Uint8Array[] = [];
  const drained = (async () => {
    for await (const chunk of tar) chunks.push(chunk as Uint8Array);
  })();
  for (const { body, ...header } of entries) {
    tar.entry({ mtime: new Date(0), ...header }, Buffer.from(body ?? new Uint8Array()));
  }
  tar.finalize();
  await drained;
  return Buffer.concat(chunks);
}
