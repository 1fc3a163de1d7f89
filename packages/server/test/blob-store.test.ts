import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBlobStore } from '../src/blob-store.ts';
import type { BlobStore } from '../src/blob-store.ts';

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const bytes = Buffer.from('0123456789abcdef');
const key = createHash('sha256').update(bytes).digest('hex');

describe('blob store', () => {
  let root: string;
  let blobs: BlobStore;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'lockgate-blobs-'));
    blobs = createBlobStore(root);
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('stores a file under sha256/<first 2 hex>/<hex>', async () => {
    expect(await blobs.put(key, bytes)).toEqual({ created: true });
    expect(blobs.pathOf(key)).toBe(join(root, 'sha256', key.slice(0, 2), key));
    expect(await readFile(blobs.pathOf(key))).toEqual(bytes);
    expect(await blobs.size(key)).toBe(bytes.length);
  });

  it('is idempotent and leaves no temporary files behind', async () => {
    await blobs.put(key, bytes);
    expect(await blobs.put(key, bytes)).toEqual({ created: false });
    expect(await readdir(join(root, 'sha256', key.slice(0, 2)))).toEqual([key]);
  });

  it('reads the whole file or an inclusive byte range', async () => {
    await blobs.put(key, bytes);
    expect(await collect(blobs.read(key))).toEqual(bytes);
    expect((await collect(blobs.read(key, { start: 2, end: 5 }))).toString()).toBe('2345');
  });

  it('deletes a file and reports absent files as null', async () => {
    await blobs.put(key, bytes);
    await blobs.delete(key);
    expect(await blobs.size(key)).toBeNull();
    await expect(blobs.delete(key)).resolves.toBeUndefined();
  });

  it('refuses keys that are not 64 lowercase hex characters', async () => {
    await expect(blobs.put('../../etc/passwd', bytes)).rejects.toThrow(/64 lowercase hex/);
    expect(() => blobs.pathOf(key.toUpperCase())).toThrow(/64 lowercase hex/);
  });
});
