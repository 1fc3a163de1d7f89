import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createSignedManifest, parsePublicKey, writePackArchive } from '@lockgate/core';
import type { Digest, PublicKeyInfo } from '@lockgate/core';

/** A signed pack file written for a benchmark, with the key that verifies it. */
export interface BigPack {
  digest: Digest;
  trustedKeys: PublicKeyInfo[];
}

/**
 * Writes a gzip pack of `mib` MiB in `files` files of base64 text (random bytes in base64
 * compress about as well as text and code do, to ~75 %) to `path`, signed by a fresh key.
 */
export async function writeBigPack(
  path: string,
  { mib, files }: { mib: number; files: number },
): Promise<BigPack> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const payload = new Map<string, Uint8Array>();
  const perFile = Math.floor((mib * 1024 * 1024) / files);
  for (let i = 0; i < files; i++) {
    payload.set(
      `data/part-${i}.txt`,
      Buffer.from(
        randomBytes(Math.ceil((perFile * 3) / 4))
          .toString('base64')
          .slice(0, perFile),
      ),
    );
  }
  const { manifest, digest } = createSignedManifest(
    {
      name: 'big',
      version: '1.0.0',
      sequence: 1,
      files: [...payload].map(([path, bytes]) => ({ path, bytes })),
      provenance: {
        buildId: 'bench',
        createdAt: '2026-01-01T00:00:00Z',
        gates: [{ name: 'tests', status: 'PASS' }],
      },
    },
    [privateKey],
  );
  await writeFile(path, await writePackArchive(manifest, payload));
  const trustedKeys = [
    parsePublicKey(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
  ];
  return { digest, trustedKeys };
}
