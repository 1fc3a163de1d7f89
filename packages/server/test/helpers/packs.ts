import { generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { createSignedManifest, keyIdOf, writePackArchive } from '@lockgate/core';
import type { Digest, GateResult, PackManifest } from '@lockgate/core';

/** An Ed25519 build key for tests. */
export interface TestSigner {
  privateKey: KeyObject;
  publicKeyPem: string;
  keyId: string;
}

export function newSigner(): TestSigner {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKey,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: keyIdOf(publicKey),
  };
}

export interface TestPackOptions {
  signer: TestSigner;
  name?: string;
  version?: string;
  sequence?: number;
  buildId?: string;
  gates?: GateResult[];
  /** path → text content */
  files?: Record<string, string>;
  createdAt?: string;
  gzip?: boolean;
  source?: { repo?: string; commit?: string };
}

export interface TestPack {
  bytes: Buffer;
  manifest: PackManifest;
  digest: Digest;
  files: Map<string, Uint8Array>;
}

export const PASSING_GATES: GateResult[] = [
  { name: 'unit', status: 'PASS' },
  { name: 'lint', status: 'PASS' },
];

/** A signed pack file built with the core API. */
export async function makePack(options: TestPackOptions): Promise<TestPack> {
  const files = new Map<string, Uint8Array>(
    Object.entries(options.files ?? { 'data/hello.txt': 'hello, fleet\n' }).map(([path, text]) => [
      path,
      new TextEncoder().encode(text),
    ]),
  );
  const { manifest, digest } = createSignedManifest(
    {
      name: options.name ?? 'kb',
      version: options.version ?? '1.0.0',
      sequence: options.sequence ?? 1,
      files: [...files].map(([path, bytes]) => ({ path, bytes })),
      provenance: {
        buildId: options.buildId ?? 'build-1',
        createdAt: options.createdAt ?? '2026-01-01T00:00:00.000Z',
        gates: options.gates ?? PASSING_GATES,
        ...(options.source === undefined ? {} : { source: options.source }),
      },
    },
    [options.signer.privateKey],
  );
  const bytes = Buffer.from(
    await writePackArchive(manifest, files, { gzip: options.gzip ?? true }),
  );
  return { bytes, manifest, digest, files };
}

/**
 * The pack with one byte of a payload file flipped after signing: the archive is written
 * plain, the byte changed in place (tar checksums cover headers only), then gzipped again.
 */
export async function tamperedPack(pack: TestPack): Promise<Buffer> {
  const [path, content] = [...pack.files][0] ?? [];
  if (path === undefined || content === undefined || content.length === 0) {
    throw new Error('the pack has no non-empty file');
  }
  const tar = Buffer.from(await writePackArchive(pack.manifest, pack.files, { gzip: false }));
  const at = tar.indexOf(content);
  if (at < 0) throw new Error(`${path} not found in the archive`);
  tar[at] = (tar[at] ?? 0) ^ 0x01;
  return gzipSync(tar);
}
