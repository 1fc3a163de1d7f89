import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { listFiles } from '../helpers/files.ts';
import { makePack, newSigner, PASSING_GATES, tamperedPack } from '../helpers/packs.ts';
import type { TestPack, TestSigner } from '../helpers/packs.ts';
import { createTestApp } from '../helpers/test-app.ts';
import type { TestApp } from '../helpers/test-app.ts';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'pack routes', () => {
    let t: TestApp;
    let signer: TestSigner;

    beforeEach(async () => {
      t = await createTestApp(dialect);
      signer = newSigner();
      const trusted = await t.app.inject({
        method: 'POST',
        url: '/api/v1/trust/keys',
        headers: t.auth,
        payload: { publicKeyPem: signer.publicKeyPem, name: 'ci' },
      });
      expect(trusted.statusCode).toBe(201);
    });

    afterEach(async () => {
      await t.close();
    });

    const push = (body: Buffer, contentType = 'application/octet-stream') =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/packs',
        headers: { ...t.auth, 'content-type': contentType },
        payload: body,
      });
    const get = (url: string, headers: Record<string, string> = {}) =>
      t.app.inject({ method: 'GET', url, headers: { ...t.auth, ...headers } });
    const blobFiles = () => listFiles(join(t.config.dataDir, 'blobs'));
    const packCount = async () => (await t.stores.packs.list({ limit: 1000 })).length;
    const expectNothingStored = async (pack: TestPack) => {
      expect(await t.stores.packs.findByDigest(pack.digest)).toBeNull();
      expect(await packCount()).toBe(0);
      expect(await blobFiles()).toEqual([]);
    };

    it('accepts a signed pack with 201 and a PackSummary, storing one file and one row', async () => {
      const pack = await makePack({ signer });
      const response = await push(pack.bytes);
      expect(response.statusCode).toBe(201);
      expect(response.json()).toEqual({
        digest: pack.digest,
        name: 'kb',
        version: '1.0.0',
        sequence: 1,
        size: pack.bytes.length,
        buildId: 'build-1',
        createdAt: '2026-01-01T00:00:00.000Z',
        pushedAt: expect.stringMatching(/^2026-01-01T00:00:\d\d\.000Z$/) as unknown,
      });
      const hex = pack.digest.slice('sha256:'.length);
      expect(await blobFiles()).toEqual([join('sha256', hex.slice(0, 2), hex)]);
      expect(await readFile(t.blobs.pathOf(hex))).toEqual(pack.bytes);
      expect(await t.stores.packs.findByDigest(pack.digest)).toMatchObject({ pushedBy: 'admin' });
    });

    it('records a passed build from the provenance when none was reported', async () => {
      const pack = await makePack({ signer, buildId: 'ci-42', source: { commit: 'abc' } });
      expect((await push(pack.bytes)).statusCode).toBe(201);
      const build = await get('/api/v1/builds/ci-42');
      expect(build.json()).toMatchObject({
        build: {
          id: 'ci-42',
          status: 'passed',
          gates: PASSING_GATES,
          packDigest: pack.digest,
          source: { commit: 'abc' },
        },
      });
    });

    it('answers a second push of the same pack with 200, keeping one file and one row', async () => {
      const pack = await makePack({ signer });
      const first = await push(pack.bytes);
      const second = await push(pack.bytes);
      expect(second.statusCode).toBe(200);
      expect(second.json()).toEqual(first.json());
      expect(await blobFiles()).toHaveLength(1);
      expect(await packCount()).toBe(1);
    });

    it('accepts application/gzip and a plain tar as application/x-tar', async () => {
      const gzipped = await makePack({ signer, version: '1.0.0' });
      expect((await push(gzipped.bytes, 'application/gzip')).statusCode).toBe(201);
      const plain = await makePack({ signer, version: '1.0.1', buildId: 'b2', gzip: false });
      expect((await push(plain.bytes, 'application/x-tar')).statusCode).toBe(201);
    });

    it('refuses a pack signed by an untrusted key with PACK_SIGNER_UNTRUSTED and stores nothing', async () => {
      const pack = await makePack({ signer: newSigner() });
      const response = await push(pack.bytes);
      expect(response.statusCode).toBe(422);
      expect(response.json()).toMatchObject({ code: 'PACK_SIGNER_UNTRUSTED' });
      await expectNothingStored(pack);
      expect(await t.stores.builds.find('build-1')).toBeNull();
    });

    it('refuses a pack once its key is no longer trusted', async () => {
      await t.app.inject({
        method: 'DELETE',
        url: `/api/v1/trust/keys/${signer.keyId}`,
        headers: t.auth,
      });
      const pack = await makePack({ signer });
      expect((await push(pack.bytes)).json()).toMatchObject({ code: 'PACK_SIGNER_UNTRUSTED' });
      await expectNothingStored(pack);
    });

    it('refuses a tampered file with PACK_FILE_HASH_MISMATCH and stores nothing', async () => {
      const pack = await makePack({ signer });
      const response = await push(await tamperedPack(pack));
      expect(response.statusCode).toBe(422);
      expect(response.json()).toMatchObject({
        code: 'PACK_FILE_HASH_MISMATCH',
        details: { path: 'data/hello.txt' },
      });
      await expectNothingStored(pack);
    });

    it('refuses bytes that are not a pack archive with a 4xx code and stores nothing', async () => {
      const response = await push(Buffer.from('definitely not a tar archive'.repeat(40)));
      expect(response.statusCode).toBe(422);
      expect(response.json()).toMatchObject({ code: 'PACK_ARCHIVE_INVALID' });
      expect(await blobFiles()).toEqual([]);
    });

    it('refuses a pack whose build was reported failed with BUILD_GATE_FAILED and stores nothing', async () => {
      const reported = await t.app.inject({
        method: 'POST',
        url: '/api/v1/builds',
        headers: t.auth,
        payload: {
          id: 'build-1',
          gates: [
            { name: 'unit', status: 'PASS' },
            { name: 'lint', status: 'FAIL' },
          ],
        },
      });
      expect(reported.statusCode).toBe(201);
      const pack = await makePack({ signer });
      const response = await push(pack.bytes);
      expect(response.statusCode).toBe(422);
      const body = response.json<{ code: string; details: { reasons: { code: string }[] } }>();
      expect(body.code).toBe('BUILD_GATE_FAILED');
      expect(body.details.reasons.map((reason) => reason.code)).toContain('BUILD_GATE_FAILED');
      expect(body.details.reasons.length).toBeGreaterThanOrEqual(2);
      await expectNothingStored(pack);
      expect((await t.stores.builds.find('build-1'))?.record.packDigest).toBeNull();
    });

    it('links a reported passed build without a pack to the pushed pack', async () => {
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/builds',
        headers: t.auth,
        payload: { id: 'build-1', gates: PASSING_GATES },
      });
      const pack = await makePack({ signer });
      expect((await push(pack.bytes)).statusCode).toBe(201);
      expect((await t.stores.builds.find('build-1'))?.record.packDigest).toBe(pack.digest);
    });

    it('refuses a pack whose build already produced another pack with 409 BUILD_CONFLICT', async () => {
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/builds',
        headers: t.auth,
        payload: { id: 'build-1', gates: PASSING_GATES, packDigest: `sha256:${'0'.repeat(64)}` },
      });
      const pack = await makePack({ signer });
      const response = await push(pack.bytes);
      expect(response.statusCode).toBe(409);
      expect(response.json()).toMatchObject({ code: 'BUILD_CONFLICT' });
      await expectNothingStored(pack);
    });

    it('refuses a pack whose gates differ from its build record with PROVENANCE_INCOMPLETE', async () => {
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/builds',
        headers: t.auth,
        payload: { id: 'build-1', gates: [{ name: 'unit', status: 'PASS' }] },
      });
      const pack = await makePack({ signer });
      const response = await push(pack.bytes);
      expect(response.statusCode).toBe(422);
      expect(response.json()).toMatchObject({ code: 'PROVENANCE_INCOMPLETE' });
      await expectNothingStored(pack);
    });

    it('refuses another pack with the same name@version with 409 PACK_VERSION_CONFLICT', async () => {
      const first = await makePack({ signer, files: { 'a.txt': 'one' } });
      const second = await makePack({ signer, files: { 'a.txt': 'two' }, buildId: 'build-2' });
      expect((await push(first.bytes)).statusCode).toBe(201);
      const response = await push(second.bytes);
      expect(response.statusCode).toBe(409);
      expect(response.json()).toMatchObject({
        code: 'PACK_VERSION_CONFLICT',
        details: { name: 'kb', version: '1.0.0', digest: first.digest },
      });
      expect(await t.stores.packs.findByDigest(second.digest)).toBeNull();
      expect(await blobFiles()).toHaveLength(1);
      expect(await t.stores.builds.find('build-2')).toBeNull();
    });

    it('stores one copy when the same pack is pushed twice at once', async () => {
      const pack = await makePack({ signer });
      const statuses = (await Promise.all([push(pack.bytes), push(pack.bytes)]))
        .map((response) => response.statusCode)
        .sort();
      expect(statuses).toEqual([200, 201]);
      expect(await blobFiles()).toHaveLength(1);
      expect(await packCount()).toBe(1);
    });

    it('keeps only the winner when two packs race for one name@version', async () => {
      const one = await makePack({ signer, files: { 'a.txt': 'one' }, buildId: 'b1' });
      const two = await makePack({ signer, files: { 'a.txt': 'two' }, buildId: 'b2' });
      const responses = await Promise.all([push(one.bytes), push(two.bytes)]);
      expect(responses.map((response) => response.statusCode).sort()).toEqual([201, 409]);
      const winner = responses[0]?.statusCode === 201 ? one : two;
      const loser = winner === one ? two : one;
      expect(await t.stores.packs.findByDigest(loser.digest)).toBeNull();
      const hex = winner.digest.slice('sha256:'.length);
      expect(await blobFiles()).toEqual([join('sha256', hex.slice(0, 2), hex)]);
    });

    it('removes the file it wrote when the database refuses the row', async () => {
      const { db } = t.testDatabase.database;
      if (dialect.name === 'sqlite') {
        await sql`create trigger refuse_packs before insert on packs begin select raise(abort, 'disk on fire'); end`.execute(
          db,
        );
      } else {
        await sql`create function refuse_packs() returns trigger language plpgsql as $$ begin raise exception 'disk on fire'; end $$`.execute(
          db,
        );
        await sql`create trigger refuse_packs before insert on packs for each row execute function refuse_packs()`.execute(
          db,
        );
      }
      const pack = await makePack({ signer });
      const response = await push(pack.bytes);
      expect(response.statusCode).toBe(500);
      expect(response.json()).toMatchObject({ code: 'INTERNAL' });
      expect(response.body).not.toContain('disk on fire');
      await expectNothingStored(pack);
      expect(await t.stores.builds.find('build-1')).toBeNull();
    });

    it('lists packs newest first, filtered by name and limited', async () => {
      const a = await makePack({ signer, name: 'kb', version: '1.0.0', buildId: 'b1' });
      const b = await makePack({ signer, name: 'other', version: '1.0.0', buildId: 'b2' });
      const c = await makePack({
        signer,
        name: 'kb',
        version: '1.1.0',
        sequence: 2,
        buildId: 'b3',
      });
      for (const pack of [a, b, c]) expect((await push(pack.bytes)).statusCode).toBe(201);
      const digests = async (url: string): Promise<string[]> =>
        (await get(url)).json<{ items: { digest: string }[] }>().items.map((p) => p.digest);
      expect(await digests('/api/v1/packs')).toEqual([c.digest, b.digest, a.digest]);
      expect(await digests('/api/v1/packs?name=kb')).toEqual([c.digest, a.digest]);
      expect(await digests('/api/v1/packs?limit=2')).toEqual([c.digest, b.digest]);
    });

    it('returns a manifest by digest and by name@version', async () => {
      const pack = await makePack({ signer });
      const pushed = (await push(pack.bytes)).json<unknown>();
      for (const ref of [pack.digest, 'kb@1.0.0']) {
        const response = await get(`/api/v1/packs/${encodeURIComponent(ref)}/manifest`);
        expect(response.statusCode).toBe(200);
        expect(response.json()).toEqual({ pack: pushed, manifest: pack.manifest });
      }
    });

    it('answers 404 PACK_NOT_FOUND for an unknown pack and 400 DIGEST_INVALID for a bad digest', async () => {
      const unknown = `sha256:${'1'.repeat(64)}`;
      for (const url of [
        `/api/v1/packs/${unknown}/manifest`,
        '/api/v1/packs/kb@9.9.9/manifest',
        `/api/v1/packs/${unknown}`,
      ]) {
        const response = await get(url);
        expect(response.statusCode, url).toBe(404);
        expect(response.json()).toMatchObject({ code: 'PACK_NOT_FOUND' });
      }
      for (const url of [
        '/api/v1/packs/sha256:abc/manifest',
        '/api/v1/packs/sha256:abc',
        `/api/v1/packs/${'f'.repeat(64)}`,
        `/api/v1/packs/sha256:${'F'.repeat(64)}`,
      ]) {
        const response = await get(url);
        expect(response.statusCode, url).toBe(400);
        expect(response.json()).toMatchObject({ code: 'DIGEST_INVALID' });
      }
    });

    it('downloads the stored file with its ETag and Accept-Ranges', async () => {
      const pack = await makePack({ signer });
      await push(pack.bytes);
      const response = await get(`/api/v1/packs/${pack.digest}`);
      expect(response.statusCode).toBe(200);
      expect(response.rawPayload).toEqual(pack.bytes);
      expect(response.headers).toMatchObject({
        'content-type': 'application/octet-stream',
        etag: `"${pack.digest}"`,
        'accept-ranges': 'bytes',
        'content-length': String(pack.bytes.length),
      });
    });

    it('honours a single byte range with 206 and Content-Range', async () => {
      const pack = await makePack({ signer });
      await push(pack.bytes);
      const size = pack.bytes.length;
      const cases: [string, number, number][] = [
        ['bytes=0-9', 0, 9],
        ['bytes=10-', 10, size - 1],
        ['bytes=-5', size - 5, size - 1],
        [`bytes=5-${size + 100}`, 5, size - 1],
      ];
      for (const [range, start, end] of cases) {
        const response = await get(`/api/v1/packs/${pack.digest}`, { range });
        expect(response.statusCode, range).toBe(206);
        expect(response.headers['content-range']).toBe(`bytes ${start}-${end}/${size}`);
        expect(response.rawPayload).toEqual(pack.bytes.subarray(start, end + 1));
      }
    });

    it('answers 416 for an unsatisfiable range and ignores malformed ones', async () => {
      const pack = await makePack({ signer });
      await push(pack.bytes);
      const size = pack.bytes.length;
      const unsatisfiable = await get(`/api/v1/packs/${pack.digest}`, {
        range: `bytes=${size}-`,
      });
      expect(unsatisfiable.statusCode).toBe(416);
      expect(unsatisfiable.headers['content-range']).toBe(`bytes */${size}`);
      const malformed = await get(`/api/v1/packs/${pack.digest}`, { range: 'bytes=9-2' });
      expect(malformed.statusCode).toBe(200);
      expect(malformed.rawPayload).toEqual(pack.bytes);
    });

    it('answers 304 when If-None-Match holds the ETag', async () => {
      const pack = await makePack({ signer });
      await push(pack.bytes);
      const response = await get(`/api/v1/packs/${pack.digest}`, {
        'if-none-match': `"${pack.digest}"`,
      });
      expect(response.statusCode).toBe(304);
      expect(response.rawPayload).toHaveLength(0);
    });
  });
}
