import { createPrivateKey, createPublicKey } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { KeyObject } from 'node:crypto';
import {
  buildChannelIndex,
  createSignedManifest,
  keyIdOf,
  signChannelIndex,
  writePackArchive,
} from '@lockgate/core';
import type {
  ChannelIndexRollout,
  Digest,
  DsseEnvelope,
  PackManifest,
  Pin,
  RollbackAuthorization,
} from '@lockgate/core';

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

export const BUILD_KEY = seededKey(1);
export const SERVER_KEY = seededKey(2);
export const STRANGER_KEY = seededKey(3);

export interface TestPack {
  digest: Digest;
  manifest: PackManifest;
  /** the payload files by path */
  files: Map<string, Uint8Array>;
  /** the pack file: a plain (uncompressed) tar, so tests can change bytes in place */
  bytes: Uint8Array;
}

export interface PackSpec {
  name?: string;
  version: string;
  sequence: number;
  files?: Record<string, string>;
  requires?: Record<string, string>;
  signers?: KeyObject[];
  gzip?: boolean;
}

export async function buildPack(spec: PackSpec): Promise<TestPack> {
  const files = Object.entries(spec.files ?? { 'data.json': `{"version":"${spec.version}"}` }).map(
    ([path, text]) => ({ path, bytes: new TextEncoder().encode(text) }),
  );
  const { manifest, digest } = createSignedManifest(
    {
      name: spec.name ?? 'kb',
      version: spec.version,
      sequence: spec.sequence,
      files,
      requires: spec.requires ?? {},
      provenance: {
        buildId: `build-${spec.version}`,
        createdAt: '2026-11-22T10:00:00Z',
        gates: [{ name: 'validate', status: 'PASS' }],
      },
    },
    spec.signers ?? [BUILD_KEY],
  );
  const map = new Map(files.map((f) => [f.path, f.bytes]));
  const bytes = await writePackArchive(manifest, map, { gzip: spec.gzip ?? false });
  return { digest, manifest, files: map, bytes };
}

export interface IndexSpec {
  version: number;
  /** the packs the index lists (their metadata comes from the manifests) */
  packs: TestPack[];
  base?: TestPack | null;
  rollout?: ChannelIndexRollout | null;
  pins?: Pin[];
  floor?: number | null;
  revoked?: Digest[];
  rollbackAuthorizations?: RollbackAuthorization[];
  issuedAt?: Date;
  ttlSeconds?: number;
  key?: KeyObject;
  env?: string;
  channel?: string;
}

export const ENV = 'prod-eu';
export const CHANNEL = 'stable';

/** A signed channel index (DSSE), by default valid for a day from now. */
export function signIndex(spec: IndexSpec): DsseEnvelope {
  const packs: Record<string, { name: string; version: string; sequence: number }> = {};
  for (const p of spec.packs) {
    packs[p.digest] = {
      name: p.manifest.name,
      version: p.manifest.version,
      sequence: p.manifest.sequence,
    };
  }
  const payload = buildChannelIndex({
    env: spec.env ?? ENV,
    channel: spec.channel ?? CHANNEL,
    version: spec.version,
    issuedAt: spec.issuedAt ?? new Date(),
    ttlSeconds: spec.ttlSeconds ?? 86_400,
    packs,
    base: spec.base === undefined ? (spec.packs[0]?.digest ?? null) : (spec.base?.digest ?? null),
    rollout: spec.rollout ?? null,
    pins: spec.pins ?? [],
    floor: spec.floor ?? null,
    revoked: spec.revoked ?? [],
    rollbackAuthorizations: spec.rollbackAuthorizations ?? [],
  });
  const key = spec.key ?? SERVER_KEY;
  return signChannelIndex(payload, key, keyIdOf(key));
}

/** A channel-wide pin to the pack for a day. */
export function pinTo(pack: TestPack): Pin {
  return {
    cohort: null,
    pack: pack.digest,
    expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    reason: 'test',
  };
}

// ---- tar surgery: plain ustar archives as writePackArchive makes them (short names) ----

const BLOCK = 512;

export interface TarEntry {
  name: string;
  headerAt: number;
  dataAt: number;
  size: number;
  /** offset after the entry's padded data */
  end: number;
}

export function tarEntries(tar: Uint8Array): TarEntry[] {
  const entries: TarEntry[] = [];
  let at = 0;
  while (at + BLOCK <= tar.length && !tar.subarray(at, at + BLOCK).every((b) => b === 0)) {
    const name = Buffer.from(tar.subarray(at, at + 100))
      .toString('utf8')
      .replace(/\0.*$/s, '');
    const size = parseInt(Buffer.from(tar.subarray(at + 124, at + 136)).toString('ascii'), 8);
    const dataAt = at + BLOCK;
    const end = dataAt + Math.ceil(size / BLOCK) * BLOCK;
    entries.push({ name, headerAt: at, dataAt, size, end });
    at = end;
  }
  return entries;
}

function entryOf(tar: Uint8Array, name: string): TarEntry {
  const entry = tarEntries(tar).find((e) => e.name === name);
  if (entry === undefined) throw new Error(`no tar entry ${name}`);
  return entry;
}

/** The archive without one entry. */
export function removeTarEntry(tar: Uint8Array, name: string): Uint8Array {
  const entry = entryOf(tar, name);
  return Buffer.concat([tar.subarray(0, entry.headerAt), tar.subarray(entry.end)]);
}

/** The archive with one more regular file entry before the end marker. */
export function addTarEntry(tar: Uint8Array, name: string, content: string): Uint8Array {
  const entries = tarEntries(tar);
  const last = entries.at(-1);
  if (last === undefined) throw new Error('empty tar');
  const header = Buffer.from(tar.subarray(last.headerAt, last.headerAt + BLOCK));
  header.fill(0, 0, 100);
  header.write(name, 0, 'utf8');
  const data = Buffer.from(content, 'utf8');
  header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  const padded = Buffer.alloc(Math.ceil(data.length / BLOCK) * BLOCK);
  data.copy(padded);
  return Buffer.concat([tar.subarray(0, last.end), header, padded, tar.subarray(last.end)]);
}

/** The archive with one byte of an entry's data changed (the tar stays readable). */
export function flipByteInEntry(tar: Uint8Array, name: string, offset = 0): Uint8Array {
  const entry = entryOf(tar, name);
  const copy = Buffer.from(tar);
  const at = entry.dataAt + offset;
  copy[at] = (copy[at] ?? 0) ^ 0x01;
  return copy;
}

/** The archive with `search` replaced by `replacement` (same length) inside one entry's data. */
export function replaceInEntry(
  tar: Uint8Array,
  name: string,
  search: string,
  replacement: string,
): Uint8Array {
  if (Buffer.byteLength(search) !== Buffer.byteLength(replacement)) {
    throw new Error('the replacement must keep the length');
  }
  const entry = entryOf(tar, name);
  const data = Buffer.from(tar.subarray(entry.dataAt, entry.dataAt + entry.size));
  const at = data.indexOf(search);
  if (at === -1) throw new Error(`${search} not in ${name}`);
  const copy = Buffer.from(tar);
  copy.write(replacement, entry.dataAt + at, 'utf8');
  return copy;
}

const MIB = 1024 * 1024;

/**
 * A gzip bomb with a good signature: its manifest (signed by BUILD_KEY) lists `zeros` with 4
 * bytes, and its tar entry for `zeros` holds `mebibytes` MiB of zeros, written as gzip
 * members of 1 MiB (each about 1 KiB), so the file stays near `mebibytes` KiB.
 */
export async function bombPack(spec: { version: string; sequence: number; mebibytes: number }) {
  const pack = await buildPack({
    version: spec.version,
    sequence: spec.sequence,
    files: { zeros: 'zero' },
  });
  const tar = Buffer.from(pack.bytes);
  const entry = entryOf(tar, 'files/zeros');
  const header = Buffer.from(tar.subarray(entry.headerAt, entry.dataAt));
  header.write(`${(spec.mebibytes * MIB).toString(8).padStart(11, '0')}\0`, 124, 'ascii');
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  const zeros = gzipSync(Buffer.alloc(MIB));
  const bytes = Buffer.concat([
    gzipSync(Buffer.concat([tar.subarray(0, entry.headerAt), header])),
    ...Array.from({ length: spec.mebibytes }, () => zeros),
    // The rest of the entry's last block is zeros too, then the end of the archive.
    gzipSync(Buffer.alloc(1024)),
  ]);
  return { ...pack, bytes };
}
