import { mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPackArchive, writePackArchive } from '@lockgate/core';
import type { PackManifest } from '@lockgate/core';
import { jsonOf, makeTempDir, runCli } from './cli-harness.ts';

interface BuiltPack {
  name: string;
  version: string;
  sequence: number;
  digest: string;
  buildId: string;
  file: string;
}

interface VerifiedPack {
  name: string;
  version: string;
  sequence: number;
  digest: string;
  signedBy: string[];
}

describe('keys generate, pack build and pack verify (offline)', () => {
  let temp: { dir: string; remove: () => Promise<void> };
  let aliceKeyId: string;

  const lockgate = (...args: string[]) => runCli(args, { cwd: temp.dir });

  const build = (out: string, ...extra: string[]) =>
    lockgate(
      'pack',
      'build',
      'src',
      '--name',
      'kb',
      '--version',
      '1.4.0',
      '--key',
      'keys/alice.key',
      '--gate',
      'tests=PASS',
      '--gate',
      'lint=PASS',
      '--out',
      out,
      '--json',
      ...extra,
    );

  beforeAll(async () => {
    temp = await makeTempDir('offline');
    await mkdir(join(temp.dir, 'src', 'data'), { recursive: true });
    await writeFile(join(temp.dir, 'src', 'index.json'), '{"entries": 2}\n');
    await writeFile(join(temp.dir, 'src', 'data', 'a.txt'), 'alpha\n');
    await writeFile(join(temp.dir, 'src', 'data', 'b.txt'), 'beta\n');
    const alice = await lockgate('keys', 'generate', '--out', 'keys', '--name', 'alice', '--json');
    expect(alice.code).toBe(0);
    aliceKeyId = jsonOf<{ keyId: string }>(alice).keyId;
    expect((await lockgate('keys', 'generate', '--out', 'keys', '--name', 'mallory')).code).toBe(0);
  });

  afterAll(async () => {
    await temp.remove();
  });

  it('writes a private key readable by its owner only and a public key, and prints the key id', async () => {
    expect(aliceKeyId).toMatch(/^[0-9a-f]{64}$/);
    const privateKey = await readFile(join(temp.dir, 'keys', 'alice.key'), 'utf8');
    const publicKey = await readFile(join(temp.dir, 'keys', 'alice.pub'), 'utf8');
    expect(privateKey).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(publicKey).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect((await stat(join(temp.dir, 'keys', 'alice.key'))).mode & 0o777).toBe(0o600);
  });

  it('refuses to overwrite an existing key and leaves it as it was', async () => {
    const before = await readFile(join(temp.dir, 'keys', 'alice.key'), 'utf8');
    const result = await lockgate('keys', 'generate', '--out', 'keys', '--name', 'alice');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^FILE_EXISTS: .*alice\.key already exists/);
    expect(await readFile(join(temp.dir, 'keys', 'alice.key'), 'utf8')).toBe(before);
  });

  it('builds a pack that verifies against the signing key, with the same digest', async () => {
    const built = await build('kb.pack', '--sequence', '14', '--build-id', 'b-1');
    expect(built.stderr).toBe('');
    expect(built.code).toBe(0);
    const pack = jsonOf<BuiltPack>(built);
    expect(pack).toMatchObject({ name: 'kb', version: '1.4.0', sequence: 14, buildId: 'b-1' });
    expect(pack.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(pack.file).toBe(join(temp.dir, 'kb.pack'));

    const verified = await lockgate(
      'pack',
      'verify',
      'kb.pack',
      '--trust',
      'keys/alice.pub',
      '--json',
    );
    expect(verified.code).toBe(0);
    expect(jsonOf<VerifiedPack>(verified)).toEqual({
      name: 'kb',
      version: '1.4.0',
      sequence: 14,
      digest: pack.digest,
      signedBy: [aliceKeyId],
    });
  });

  it('packs every file under the directory with relative POSIX paths, roles and provenance', async () => {
    const built = await build(
      'roles.pack',
      '--role',
      'index.json=index',
      '--requires',
      'runtime=>=2.3 <3',
      '--source-repo',
      'git@example.org:kb.git',
      '--source-commit',
      'abc123',
    );
    expect(built.code).toBe(0);
    const contents = await readPackArchive(await readFile(join(temp.dir, 'roles.pack')));
    const manifest = contents.manifest as PackManifest;
    expect(manifest.files.map((file) => [file.path, file.role])).toEqual([
      ['data/a.txt', undefined],
      ['data/b.txt', undefined],
      ['index.json', 'index'],
    ]);
    expect(manifest.sequence).toBe(1);
    expect(manifest.requires).toEqual({ runtime: '>=2.3 <3' });
    expect(manifest.provenance.createdAt).toBe('2026-11-23T10:00:00.000Z');
    expect(manifest.provenance.buildId).toMatch(/^build-[0-9a-f-]{36}$/);
    expect(manifest.provenance.source).toEqual({
      repo: 'git@example.org:kb.git',
      commit: 'abc123',
    });
    expect(manifest.provenance.gates).toEqual([
      { name: 'tests', status: 'PASS' },
      { name: 'lint', status: 'PASS' },
    ]);
  });

  it('signs with every --key given', async () => {
    const built = await build('two.pack', '--key', 'keys/mallory.key');
    expect(built.code).toBe(0);
    const verified = await lockgate(
      'pack',
      'verify',
      'two.pack',
      '--trust',
      'keys/alice.pub',
      '--trust',
      'keys/mallory.pub',
      '--json',
    );
    expect(verified.code).toBe(0);
    expect(jsonOf<VerifiedPack>(verified).signedBy).toHaveLength(2);
  });

  it('refuses a pack with a tampered payload byte, naming the file', async () => {
    expect((await build('tamper.pack')).code).toBe(0);
    // Flip one byte of data/a.txt's content inside the tar; tar header checksums cover headers
    // only, so the archive stays readable and only the file hash can tell.
    const tar = gunzipSync(await readFile(join(temp.dir, 'tamper.pack')));
    const at = tar.indexOf('alpha\n');
    expect(at).toBeGreaterThan(0);
    expect(at % 512).toBe(0);
    tar[at] = (tar[at] ?? 0) ^ 0x01;
    await writeFile(join(temp.dir, 'tamper.pack'), gzipSync(tar));

    const result = await lockgate('pack', 'verify', 'tamper.pack', '--trust', 'keys/alice.pub');
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^PACK_FILE_HASH_MISMATCH: .*data\/a\.txt/);
  });

  it('refuses a pack whose manifest was changed after signing', async () => {
    expect((await build('resigned.pack')).code).toBe(0);
    const contents = await readPackArchive(await readFile(join(temp.dir, 'resigned.pack')));
    const manifest = contents.manifest as PackManifest;
    const rewritten = await writePackArchive({ ...manifest, sequence: 99 }, contents.files);
    await writeFile(join(temp.dir, 'resigned.pack'), rewritten);

    const result = await lockgate('pack', 'verify', 'resigned.pack', '--trust', 'keys/alice.pub');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^PACK_SIGNATURE_INVALID: /);
  });

  it('refuses a pack signed by a key that is not trusted', async () => {
    expect((await build('alice.pack')).code).toBe(0);
    const result = await lockgate(
      'pack',
      'verify',
      'alice.pack',
      '--trust',
      'keys/mallory.pub',
      '--json',
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^PACK_SIGNER_UNTRUSTED: /);
    expect(jsonOf<{ error: { code: string } }>(result).error.code).toBe('PACK_SIGNER_UNTRUSTED');
  });

  it('refuses a file that is not a pack', async () => {
    await writeFile(join(temp.dir, 'junk.pack'), 'not a tar archive at all');
    const result = await lockgate('pack', 'verify', 'junk.pack', '--trust', 'keys/alice.pub');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^PACK_ARCHIVE_INVALID: /);
  });

  it('writes no pack file when a gate did not pass', async () => {
    const result = await build('failed.pack', '--gate', 'security=FAIL');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^BUILD_GATE_FAILED: /);
    expect((await readdir(temp.dir)).filter((name) => name.includes('failed.pack'))).toEqual([]);
  });

  it('writes no pack file when there are no gates', async () => {
    const result = await lockgate(
      'pack',
      'build',
      'src',
      '--name',
      'kb',
      '--version',
      '1.4.0',
      '--key',
      'keys/alice.key',
      '--out',
      'ungated.pack',
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^BUILD_GATES_MISSING: /);
    expect((await readdir(temp.dir)).filter((name) => name.includes('ungated.pack'))).toEqual([]);
  });

  it('refuses a role for a path that is not in the directory as a usage error', async () => {
    const result = await build('role.pack', '--role', 'missing.txt=index');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--role names missing\.txt/);
  });

  it('refuses a source directory holding a symbolic link, and writes nothing', async () => {
    await mkdir(join(temp.dir, 'linked'));
    await writeFile(join(temp.dir, 'linked', 'real.txt'), 'real\n');
    await symlink(join(temp.dir, 'src', 'index.json'), join(temp.dir, 'linked', 'link.json'));
    const result = await lockgate(
      'pack',
      'build',
      'linked',
      '--name',
      'kb',
      '--version',
      '1.4.0',
      '--key',
      'keys/alice.key',
      '--gate',
      'tests=PASS',
      '--out',
      'linked.pack',
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^PACK_SOURCE_UNSUPPORTED: link\.json is a symbolic link/);
    expect((await readdir(temp.dir)).filter((name) => name.includes('linked.pack'))).toEqual([]);
  });

  it('refuses a version that is not semver with the core code', async () => {
    const result = await lockgate(
      'pack',
      'build',
      'src',
      '--name',
      'kb',
      '--version',
      'latest',
      '--key',
      'keys/alice.key',
      '--gate',
      'tests=PASS',
      '--out',
      'bad.pack',
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^PACK_MANIFEST_INVALID: /);
  });

  it('refuses a signing key file that is not a key', async () => {
    const result = await build('nokey.pack', '--key', 'src/index.json');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^KEY_INVALID: /);
  });
});
