import { gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { extract } from 'tar-stream';
import type { Header } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import {
  canonicalBytes,
  createSignedManifest,
  readPackArchive,
  verifyPack,
  writePackArchive,
} from '../src/index.ts';
import {
  filesOf,
  lockgateRejectionOf,
  sampleInput,
  seededKey,
  tarOf,
  trustOf,
  utf8,
} from './fixtures.ts';
import type { TarEntry } from './fixtures.ts';

const key = seededKey(1);
const trustedKeys = [trustOf(key)];
const input = sampleInput();
const files = filesOf(input);
const { manifest, digest } = createSignedManifest(input, [key]);

const manifestEntry: TarEntry = { name: 'manifest.json', body: canonicalBytes(manifest) };
const payloadEntries: TarEntry[] = manifest.files.map((f) => ({
  name: `files/${f.path}`,
  body: files.get(f.path) ?? new Uint8Array(),
}));

async function headersOf(tarBytes: Uint8Array): Promise<Header[]> {
  const headers: Header[] = [];
  const extractor = extract();
  const entries = extractor[Symbol.asyncIterator]();
  extractor.end(Buffer.from(tarBytes));
  for (let next = await entries.next(); next.done !== true; next = await entries.next()) {
    headers.push(next.value.header);
    next.value.resume();
  }
  return headers;
}

describe('writePackArchive', () => {
  it('writes a gzip file that reads back to the same manifest and files', async () => {
    const archive = await writePackArchive(manifest, files);
    expect([archive[0], archive[1]]).toEqual([0x1f, 0x8b]);
    const contents = await readPackArchive(archive);
    expect(contents.manifest).toEqual(manifest);
    expect(contents.manifestBytes).toEqual(canonicalBytes(manifest));
    expect(contents.files).toEqual(files);
    expect(
      verifyPack(contents.manifest, contents.files, { trustedKeys, expectedDigest: digest }).digest,
    ).toBe(digest);
  });

  it('writes a plain tar when asked, with manifest.json first and files in manifest order', async () => {
    const archive = await writePackArchive(manifest, files, { gzip: false });
    expect(Buffer.from(archive.subarray(257, 262)).toString('latin1')).toBe('ustar');
    const headers = await headersOf(archive);
    expect(headers.map((h) => h.name)).toEqual([
      'manifest.json',
      'files/README',
      'files/data/claims.ndjson',
      'files/index/terms.json',
    ]);
    for (const h of headers) {
      expect(h).toMatchObject({ type: 'file', mode: 0o644, uid: 0, gid: 0, uname: '', gname: '' });
      expect(h.mtime.getTime()).toBe(0);
    }
  });

  it('writes the same bytes every time, whatever order the files map holds', async () => {
    const reordered = new Map([...files].reverse());
    const a = await writePackArchive(manifest, files);
    const b = await writePackArchive(manifest, reordered);
    expect(Buffer.from(b).equals(Buffer.from(a))).toBe(true);
    expect(a[9]).toBe(255);
  });

  it('round-trips long and non-ASCII paths', async () => {
    const deep = { path: `${'verzeichnis/'.repeat(20)}grüße-😀.json`, bytes: utf8('{}') };
    const long = { path: 'l'.repeat(200), bytes: utf8('long') };
    const withPaths = { ...sampleInput(), files: [deep, long] };
    const made = createSignedManifest(withPaths, [key]).manifest;
    const contents = await readPackArchive(await writePackArchive(made, filesOf(withPaths)));
    expect([...contents.files.keys()].sort()).toEqual([deep.path, long.path].sort());
    expect(contents.files.get(deep.path)).toEqual(deep.bytes);
  });

  it('refuses files that do not match the manifest', async () => {
    const fewer = new Map(files);
    fewer.delete('README');
    await lockgateRejectionOf(writePackArchive(manifest, fewer), 'PACK_FILE_MISSING');
    await lockgateRejectionOf(
      writePackArchive(manifest, new Map(files).set('extra', utf8('x'))),
      'PACK_FILE_UNLISTED',
    );
    await lockgateRejectionOf(
      writePackArchive(manifest, new Map(files).set('README', utf8('x'))),
      'PACK_FILE_HASH_MISMATCH',
    );
  });

  it('refuses an invalid manifest', async () => {
    await lockgateRejectionOf(
      writePackArchive({ ...manifest, name: '' }, files),
      'PACK_MANIFEST_INVALID',
    );
  });

  it('round-trips any set of safe paths and contents', async () => {
    const segment = fc.stringMatching(/^[a-zA-Z0-9_-][a-zA-Z0-9._-]{0,11}$/);
    const path = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => s.join('/'));
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.record({ path, bytes: fc.uint8Array({ maxLength: 700 }) }), {
          selector: (f) => f.path,
          minLength: 1,
          maxLength: 8,
        }),
        async (packFiles) => {
          const paths = new Set(packFiles.map((f) => f.path));
          // A path cannot be both a file and a directory; such sets are refused elsewhere.
          fc.pre(
            packFiles.every(
              (f) =>
                !f.path.split('/').some((_, i, s) => i > 0 && paths.has(s.slice(0, i).join('/'))),
            ),
          );
          const made = createSignedManifest({ ...sampleInput(), files: packFiles }, [key]);
          const wanted = new Map(packFiles.map((f) => [f.path, f.bytes]));
          const contents = await readPackArchive(await writePackArchive(made.manifest, wanted));
          expect(contents.files).toEqual(wanted);
          expect(verifyPack(contents.manifest, contents.files, { trustedKeys }).digest).toBe(
            made.digest,
          );
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('readPackArchive', () => {
  it('reads a plain tar as well as gzip', async () => {
    const contents = await readPackArchive(
      await writePackArchive(manifest, files, { gzip: false }),
    );
    expect(contents.files).toEqual(files);
  });

  it('reads an archive written by another tool, ignoring directory entries under files/', async () => {
    const archive = await tarOf([
      { name: 'files/', type: 'directory' },
      { name: 'files/data/', type: 'directory' },
      ...payloadEntries.reverse(),
      manifestEntry,
    ]);
    const contents = await readPackArchive(gzipSync(archive));
    expect(contents.files).toEqual(files);
    expect(verifyPack(contents.manifest, contents.files, { trustedKeys }).digest).toBe(digest);
  });

  it.each<[string, TarEntry]>([
    ['a symbolic link', { name: 'files/link', type: 'symlink', linkname: '/etc/passwd' }],
    ['a hard link', { name: 'files/link', type: 'link', linkname: 'manifest.json' }],
    ['a character device', { name: 'files/tty', type: 'character-device' }],
    ['a fifo', { name: 'files/pipe', type: 'fifo' }],
    ['a file outside files/', { name: 'README.md', body: utf8('hi') }],
    ['a directory outside files/', { name: 'other/', type: 'directory' }],
    ['an absolute name', { name: '/files/abs', body: utf8('x') }],
    ['a name that climbs out', { name: 'files/../../etc/cron.d/x', body: utf8('x') }],
    ['a name with a dot segment', { name: 'files/./a', body: utf8('x') }],
    ['a name with an empty segment', { name: 'files/a//b', body: utf8('x') }],
    ['a non-normalized manifest name', { name: './manifest.json', body: utf8('{}') }],
    ['a second manifest', { name: 'manifest.json', body: utf8('{}') }],
    ['a file given twice', { name: 'files/README', body: utf8('') }],
  ])('refuses %s with PACK_ARCHIVE_INVALID naming the entry', async (_name, bad) => {
    const archive = await tarOf([manifestEntry, ...payloadEntries, bad]);
    const error = await lockgateRejectionOf(readPackArchive(archive), 'PACK_ARCHIVE_INVALID');
    expect(error.details.entry).toBe(bad.name);
  });

  it('refuses an archive without manifest.json', async () => {
    const error = await lockgateRejectionOf(
      readPackArchive(await tarOf(payloadEntries)),
      'PACK_ARCHIVE_INVALID',
    );
    expect(error.details.entry).toBe('manifest.json');
  });

  it('refuses a manifest.json that is not JSON with PACK_MANIFEST_INVALID', async () => {
    const archive = await tarOf([{ name: 'manifest.json', body: utf8('not json') }]);
    await lockgateRejectionOf(readPackArchive(archive), 'PACK_MANIFEST_INVALID');
  });

  it('returns manifest.json parsed but not validated', async () => {
    const archive = await tarOf([{ name: 'manifest.json', body: utf8('{"hello":1}') }]);
    expect((await readPackArchive(archive)).manifest).toEqual({ hello: 1 });
  });

  it.each([
    ['bytes that are not an archive', utf8('this is not a tar file at all'.repeat(40))],
    [
      'a gzip stream that is corrupt',
      Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]),
    ],
  ])('refuses %s with PACK_ARCHIVE_INVALID', async (_name, bytes) => {
    await lockgateRejectionOf(readPackArchive(bytes), 'PACK_ARCHIVE_INVALID');
  });

  it('refuses a truncated archive', async () => {
    const archive = await writePackArchive(manifest, files, { gzip: false });
    await lockgateRejectionOf(readPackArchive(archive.subarray(0, 1000)), 'PACK_ARCHIVE_INVALID');
    const gz = await writePackArchive(manifest, files);
    await lockgateRejectionOf(
      readPackArchive(gz.subarray(0, gz.byteLength - 10)),
      'PACK_ARCHIVE_INVALID',
    );
  });

  it('refuses an entry over maxEntryBytes', async () => {
    const archive = await tarOf([manifestEntry, { name: 'files/big', body: new Uint8Array(2000) }]);
    const error = await lockgateRejectionOf(
      readPackArchive(archive, { maxEntryBytes: 1999 }),
      'PACK_ARCHIVE_TOO_LARGE',
    );
    expect(error.details).toMatchObject({ entry: 'files/big', size: 2000, limit: 1999 });
    await expect(readPackArchive(archive, { maxEntryBytes: 2000 })).resolves.toBeDefined();
  });

  it('refuses a manifest over maxManifestBytes', async () => {
    const archive = await tarOf([manifestEntry]);
    const size = manifestEntry.body?.byteLength ?? 0;
    await lockgateRejectionOf(
      readPackArchive(archive, { maxManifestBytes: size - 1 }),
      'PACK_ARCHIVE_TOO_LARGE',
    );
    await expect(readPackArchive(archive, { maxManifestBytes: size })).resolves.toBeDefined();
  });

  it('refuses entries that together exceed maxTotalBytes', async () => {
    const archive = await tarOf([
      manifestEntry,
      { name: 'files/a', body: new Uint8Array(600) },
      { name: 'files/b', body: new Uint8Array(600) },
    ]);
    const total = (manifestEntry.body?.byteLength ?? 0) + 1200;
    await lockgateRejectionOf(
      readPackArchive(archive, { maxTotalBytes: total - 1 }),
      'PACK_ARCHIVE_TOO_LARGE',
    );
    await expect(readPackArchive(archive, { maxTotalBytes: total })).resolves.toBeDefined();
  });

  it('refuses more than maxEntries entries', async () => {
    const archive = await tarOf([manifestEntry, ...payloadEntries]);
    await lockgateRejectionOf(
      readPackArchive(archive, { maxEntries: 3 }),
      'PACK_ARCHIVE_TOO_LARGE',
    );
    await expect(readPackArchive(archive, { maxEntries: 4 })).resolves.toBeDefined();
  });

  it('stops decompressing a gzip bomb at the limit', async () => {
    const bomb = gzipSync(
      await tarOf([manifestEntry, { name: 'files/zeros', body: new Uint8Array(8 * 1024 * 1024) }]),
    );
    expect(bomb.byteLength).toBeLessThan(64 * 1024);
    const error = await lockgateRejectionOf(
      readPackArchive(bomb, { maxTotalBytes: 64 * 1024, maxEntries: 4 }),
      'PACK_ARCHIVE_TOO_LARGE',
    );
    // Refused while decompressing, not after: the error names no entry.
    expect(error.message).toMatch(/decompresses/);
    expect(error.details.entry).toBeUndefined();
    expect(error.details.limit).toBeLessThan(1024 * 1024);
    expect(gunzipSync(bomb).byteLength).toBeGreaterThan(8 * 1024 * 1024);
  });

  it('refuses a limit that is not an integer >= 0, which would otherwise let anything through', async () => {
    const archive = await writePackArchive(manifest, files);
    await lockgateRejectionOf(
      readPackArchive(archive, { maxEntryBytes: Number.NaN }),
      'BAD_REQUEST',
    );
    await lockgateRejectionOf(readPackArchive(archive, { maxEntries: -1 }), 'BAD_REQUEST');
  });
});
