import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  addSignature,
  assertEligible,
  canonicalBytes,
  createSignedManifest,
  packDigest,
  verifyPack,
  verifyPackArchive,
  writePackArchive,
} from '../src/index.ts';
import type { PackManifest, VerifyPackArchiveOptions } from '../src/index.ts';
import {
  filesOf,
  lockgateErrorOf,
  lockgateRejectionOf,
  sampleInput,
  seededKey,
  trustOf,
  tarOf,
  utf8,
} from './fixtures.ts';
import type { TarEntry } from './fixtures.ts';

const key = seededKey(1);
const trustedKeys = [trustOf(key)];
const input = sampleInput();
const files = filesOf(input);
const { manifest, digest } = createSignedManifest(input, [key]);
const MIB = 1024 * 1024;

const manifestEntry = (m: PackManifest = manifest): TarEntry => ({
  name: 'manifest.json',
  body: canonicalBytes(m),
});
const payloadEntries: TarEntry[] = manifest.files.map((f) => ({
  name: `files/${f.path}`,
  body: files.get(f.path) ?? new Uint8Array(),
}));

/** The manifest re-signed after a change, as a build key holder could make it. */
function resigned(change: Partial<PackManifest>): PackManifest {
  return addSignature({ ...manifest, ...change, signatures: [] }, key);
}

/**
 * A gzip bomb: the tar of `entries` whose last entry claims `mebibytes` MiB of zeros, written
 * as gzip members (1 MiB of zeros compresses to about 1 KiB, so the file stays small). The
 * chunks come one member at a time and `pulled()` tells how many were read.
 */
async function bomb(
  entries: TarEntry[],
  mebibytes: number,
): Promise<{ chunks: AsyncIterable<Uint8Array>; pulled: () => number; members: number }> {
  const tar = await tarOf(entries);
  // The last entry's header: its size field (11 octal digits at 124) and checksum rewritten.
  const last = entries.at(-1)?.body?.byteLength ?? 0;
  const headerAt = tar.byteLength - 1024 - Math.ceil(last / 512) * 512 - 512;
  const header = Buffer.from(tar.subarray(headerAt, headerAt + 512));
  header.write(`${(mebibytes * MIB).toString(8).padStart(11, '0')}\0`, 124, 'ascii');
  header.fill(0x20, 148, 156);
  const sum = header.reduce((a, b) => a + b, 0);
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  const head = gzipSync(Buffer.concat([tar.subarray(0, headerAt), header]));
  const zeros = gzipSync(Buffer.alloc(MIB));
  const end = gzipSync(Buffer.alloc(1024));
  let pulled = 0;
  function* chunks(): Generator<Uint8Array> {
    pulled += 1;
    yield head;
    for (let i = 0; i < mebibytes; i++) {
      pulled += 1;
      yield zeros;
    }
    pulled += 1;
    yield end;
  }
  return { chunks: streamed(chunks()), pulled: () => pulled, members: mebibytes + 2 };
}

const options: VerifyPackArchiveOptions = { trustedKeys };

/** The chunks a generator makes, handed out asynchronously as a stream would. */
async function* streamed(chunks: Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield await Promise.resolve(chunk);
}

describe('verifyPackArchive', () => {
  it('verifies a pack file as writePackArchive writes it, gzip or plain, whole or in chunks', async () => {
    const expected = verifyPack(manifest, files, { trustedKeys, expectedDigest: digest });
    const gz = await writePackArchive(manifest, files);
    const tar = await writePackArchive(manifest, files, { gzip: false });
    function* pieces(bytes: Uint8Array): Generator<Uint8Array> {
      for (let at = 0; at < bytes.byteLength; at += 7) yield bytes.subarray(at, at + 7);
    }
    const inPieces = (bytes: Uint8Array) => streamed(pieces(bytes));
    for (const source of [gz, tar, inPieces(gz), inPieces(tar)]) {
      expect(await verifyPackArchive(source, { ...options, expectedDigest: digest })).toEqual(
        expected,
      );
    }
  });

  it('hands each listed file to onFile as it streams, in archive order', async () => {
    const seen: [string, string][] = [];
    await verifyPackArchive(await writePackArchive(manifest, files), {
      ...options,
      onFile: async (file, content) => {
        const chunks: Uint8Array[] = [];
        for await (const chunk of content) chunks.push(chunk);
        seen.push([file.path, Buffer.concat(chunks).toString('utf8')]);
      },
    });
    expect(seen).toEqual(
      manifest.files.map((f) => [f.path, Buffer.from(files.get(f.path) ?? []).toString('utf8')]),
    );
  });

  it('refuses a correctly signed pack whose build gate did not pass with BUILD_GATE_FAILED, as assertEligible does', async () => {
    const failed = resigned({
      provenance: {
        ...manifest.provenance,
        gates: [
          { name: 'validate', status: 'PASS' },
          { name: 'compile', status: 'FAIL' },
        ],
      },
    });
    // Integrity alone passes: the signature is good.
    expect(verifyPack(failed, files, { trustedKeys }).signedBy).toEqual([trustedKeys[0]?.keyId]);
    const archive = await writePackArchive(failed, files);
    const error = await lockgateRejectionOf(
      verifyPackArchive(archive, options),
      'BUILD_GATE_FAILED',
    );
    const direct = lockgateErrorOf(
      () => assertEligible({ manifest: failed, build: null }, packDigest(failed)),
      'BUILD_GATE_FAILED',
    );
    expect({ message: error.message, details: error.details }).toEqual({
      message: direct.message,
      details: direct.details,
    });
  });

  it('refuses a correctly signed pack that lists no build gates with PROVENANCE_INCOMPLETE', async () => {
    const ungated = resigned({ provenance: { ...manifest.provenance, gates: [] } });
    await lockgateRejectionOf(
      verifyPackArchive(await writePackArchive(ungated, files), options),
      'PROVENANCE_INCOMPLETE',
    );
  });

  it('refuses an archive that does not begin with manifest.json, naming manifest.json', async () => {
    const last = await tarOf([...payloadEntries, manifestEntry()]);
    const error = await lockgateRejectionOf(
      verifyPackArchive(last, options),
      'PACK_ARCHIVE_INVALID',
    );
    expect(error.details.entry).toBe('manifest.json');
    expect(error.message).toMatch(/begin with manifest\.json/);
    const none = await tarOf(payloadEntries);
    await lockgateRejectionOf(verifyPackArchive(none, options), 'PACK_ARCHIVE_INVALID');
  });

  it('accepts directory entries under files/ after the manifest', async () => {
    const archive = await tarOf([
      manifestEntry(),
      { name: 'files/', type: 'directory' },
      { name: 'files/data/', type: 'directory' },
      ...payloadEntries,
    ]);
    expect((await verifyPackArchive(gzipSync(archive), options)).digest).toBe(digest);
  });

  it.each<[string, TarEntry]>([
    ['a symbolic link', { name: 'files/link', type: 'symlink', linkname: '/etc/passwd' }],
    ['a hard link', { name: 'files/link', type: 'link', linkname: 'manifest.json' }],
    ['a fifo', { name: 'files/pipe', type: 'fifo' }],
    ['a file outside files/', { name: 'README.md', body: utf8('hi') }],
    ['a name that climbs out', { name: 'files/../../etc/cron.d/x', body: utf8('x') }],
    ['a second manifest', { name: 'manifest.json', body: utf8('{}') }],
    ['a file given twice', { name: 'files/README', body: utf8('') }],
  ])('refuses %s with PACK_ARCHIVE_INVALID naming the entry', async (_name, bad) => {
    const archive = await tarOf([manifestEntry(), ...payloadEntries, bad]);
    const error = await lockgateRejectionOf(
      verifyPackArchive(archive, options),
      'PACK_ARCHIVE_INVALID',
    );
    expect(error.details.entry).toBe(bad.name);
  });

  it('refuses a manifest, a digest or a signer that does not verify, as verifyPack does', async () => {
    const archive = await writePackArchive(manifest, files);
    await lockgateRejectionOf(
      verifyPackArchive(archive, { trustedKeys: [trustOf(seededKey(2))] }),
      'PACK_SIGNER_UNTRUSTED',
    );
    const error = await lockgateRejectionOf(
      verifyPackArchive(archive, { ...options, expectedDigest: `sha256:${'0'.repeat(64)}` }),
      'PACK_DIGEST_MISMATCH',
    );
    expect(error.details.actual).toBe(digest);
    const notJson = await tarOf([{ name: 'manifest.json', body: utf8('not json') }]);
    await lockgateRejectionOf(verifyPackArchive(notJson, options), 'PACK_MANIFEST_INVALID');
  });

  it('refuses missing, changed and unlisted files as verifyPack does, naming the path', async () => {
    const [first, second, third] = payloadEntries;
    if (first === undefined || second === undefined || third === undefined) throw new Error();
    const changedBody = Buffer.from(third.body ?? []);
    changedBody[0] = (changedBody[0] ?? 0) ^ 1;
    const cases: [TarEntry[], string, string][] = [
      [[first, second], 'PACK_FILE_MISSING', third.name],
      [[first, second, { ...third, body: changedBody }], 'PACK_FILE_HASH_MISMATCH', third.name],
      [
        [...payloadEntries, { name: 'files/extra', body: utf8('x') }],
        'PACK_FILE_UNLISTED',
        'files/extra',
      ],
      // A renamed file: the missing one is reported first, as verifyPack does.
      [[first, second, { ...third, name: 'files/renamed' }], 'PACK_FILE_MISSING', third.name],
    ];
    for (const [payload, code, entry] of cases) {
      const archive = await tarOf([manifestEntry(), ...payload]);
      const error = await lockgateRejectionOf(verifyPackArchive(archive, options), code as never);
      expect(`files/${String(error.details.path)}`).toBe(entry);
    }
  });

  it('checks the manifest against the expected digest before it inflates any payload', async () => {
    const { chunks, pulled, members } = await bomb(
      [manifestEntry(), ...payloadEntries, { name: 'files/zeros', body: utf8('') }],
      256,
    );
    await lockgateRejectionOf(
      verifyPackArchive(chunks, { ...options, expectedDigest: `sha256:${'1'.repeat(64)}` }),
      'PACK_DIGEST_MISMATCH',
    );
    expect(pulled()).toBeLessThan(members / 2);
  });

  it('refuses an entry larger than the manifest declares from its header, before inflating it', async () => {
    const small = resigned({
      files: [{ path: 'zeros', sha256: 'a'.repeat(64), size: 4 }],
    });
    const { chunks, pulled, members } = await bomb(
      [manifestEntry(small), { name: 'files/zeros', body: utf8('') }],
      256,
    );
    const error = await lockgateRejectionOf(
      verifyPackArchive(chunks, options),
      'PACK_FILE_HASH_MISMATCH',
    );
    expect(error.details).toMatchObject({
      path: 'zeros',
      expected: { size: 4 },
      actual: { size: 256 * MIB },
    });
    expect(pulled()).toBeLessThan(members / 2);
  });

  it('refuses an unlisted entry over a few KiB at once with PACK_FILE_UNLISTED', async () => {
    const { chunks, pulled, members } = await bomb(
      [manifestEntry(), ...payloadEntries, { name: 'files/zeros', body: utf8('') }],
      256,
    );
    const error = await lockgateRejectionOf(
      verifyPackArchive(chunks, options),
      'PACK_FILE_UNLISTED',
    );
    expect(error.details.path).toBe('zeros');
    expect(pulled()).toBeLessThan(members / 2);
  });

  it('stops decompressing once the archive runs past what the manifest declares', async () => {
    // A valid pack followed by zero blocks, which tar readers skip: only the meter stops them.
    const tar = await writePackArchive(manifest, files, { gzip: false });
    const zeros = gzipSync(Buffer.alloc(MIB));
    let pulled = 0;
    function* chunks(): Generator<Uint8Array> {
      yield gzipSync(tar);
      for (let i = 0; i < 256; i++) {
        pulled += 1;
        yield zeros;
      }
    }
    const error = await lockgateRejectionOf(
      verifyPackArchive(streamed(chunks()), options),
      'PACK_ARCHIVE_TOO_LARGE',
    );
    expect(error.message).toMatch(/decompresses/);
    expect(pulled).toBeLessThan(128);
  });

  it('refuses what the manifest declares beyond the limits before it reads the payload', async () => {
    const big = resigned({
      files: [{ path: 'huge', sha256: 'a'.repeat(64), size: 2 * 1024 ** 3 }],
    });
    const { chunks, pulled, members } = await bomb(
      [manifestEntry(big), { name: 'files/huge', body: utf8('') }],
      256,
    );
    const error = await lockgateRejectionOf(
      verifyPackArchive(chunks, options),
      'PACK_ARCHIVE_TOO_LARGE',
    );
    expect(error.details).toMatchObject({ entry: 'files/huge', size: 2 * 1024 ** 3 });
    expect(pulled()).toBeLessThan(members / 2);

    const archive = await writePackArchive(manifest, files);
    const declared = manifest.files.reduce((sum, f) => sum + f.size, 0);
    const manifestSize = canonicalBytes(manifest).byteLength;
    await lockgateRejectionOf(
      verifyPackArchive(archive, {
        ...options,
        limits: { maxTotalBytes: manifestSize + declared - 1 },
      }),
      'PACK_ARCHIVE_TOO_LARGE',
    );
    await expect(
      verifyPackArchive(archive, {
        ...options,
        limits: { maxTotalBytes: manifestSize + declared },
      }),
    ).resolves.toBeDefined();
    await lockgateRejectionOf(
      verifyPackArchive(archive, { ...options, limits: { maxEntries: manifest.files.length } }),
      'PACK_ARCHIVE_TOO_LARGE',
    );
    await lockgateRejectionOf(
      verifyPackArchive(archive, { ...options, limits: { maxManifestBytes: manifestSize - 1 } }),
      'PACK_ARCHIVE_TOO_LARGE',
    );
    await lockgateRejectionOf(
      verifyPackArchive(archive, { ...options, limits: { maxEntries: Number.NaN } }),
      'BAD_REQUEST',
    );
  });

  it('refuses bytes that are not a readable pack file with PACK_ARCHIVE_INVALID', async () => {
    const gz = await writePackArchive(manifest, files);
    const tar = await writePackArchive(manifest, files, { gzip: false });
    for (const bytes of [
      utf8('this is not a tar file at all'.repeat(40)),
      Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]),
      tar.subarray(0, 1000),
      gz.subarray(0, gz.byteLength - 10),
      new Uint8Array(),
    ]) {
      await lockgateRejectionOf(verifyPackArchive(bytes, options), 'PACK_ARCHIVE_INVALID');
    }
  });

  it('passes an error reading the source through unchanged', async () => {
    const gz = await writePackArchive(manifest, files);
    const broken = new Error('the disk went away');
    function* failing(): Generator<Uint8Array> {
      yield gz.subarray(0, 100);
      throw broken;
    }
    await expect(verifyPackArchive(streamed(failing()), options)).rejects.toBe(broken);
  });
});
