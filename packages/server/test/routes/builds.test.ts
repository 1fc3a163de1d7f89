import { afterEach, beforeEach, expect, it } from 'vitest';
import { createTestApp } from '../helpers/test-app.ts';
import type { TestApp } from '../helpers/test-app.ts';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

const passed = {
  id: 'build-7',
  gates: [
    { name: 'unit', status: 'PASS' },
    { name: 'eval', status: 'PASS', details: '98.2% exact match' },
  ],
  packDigest: DIGEST,
  source: { repo: 'https://example.com/kb.git', commit: 'abc123' },
  inputs: { dataset: 'sha256:00' },
};

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'build routes', () => {
    let t: TestApp;

    beforeEach(async () => {
      t = await createTestApp(dialect);
    });

    afterEach(async () => {
      await t.close();
    });

    const report = (payload: object) =>
      t.app.inject({ method: 'POST', url: '/api/v1/builds', headers: t.auth, payload });
    const get = (url: string) => t.app.inject({ method: 'GET', url, headers: t.auth });

    it('records a passed build with 201 and derives its status', async () => {
      const response = await report(passed);
      expect(response.statusCode).toBe(201);
      expect(response.json()).toEqual({
        build: { ...passed, status: 'passed', reportedAt: '2026-01-01T00:00:01.000Z' },
      });
      expect(await t.stores.builds.find('build-7')).toMatchObject({ reportedBy: 'admin' });
    });

    it('answers 200 with the first record when the identical build is reported again', async () => {
      const first = await report(passed);
      const second = await report(passed);
      expect(second.statusCode).toBe(200);
      expect(second.json()).toEqual(first.json());
    });

    it('refuses the same id with different content with 409 BUILD_CONFLICT', async () => {
      await report(passed);
      const response = await report({ ...passed, gates: [{ name: 'unit', status: 'PASS' }] });
      expect(response.statusCode).toBe(409);
      expect(response.json()).toMatchObject({ code: 'BUILD_CONFLICT', details: { id: 'build-7' } });
      expect((await t.stores.builds.find('build-7'))?.record.gates).toHaveLength(2);
    });

    it('records a failed build without a pack, and lists it', async () => {
      const failed = { id: 'build-8', gates: [{ name: 'unit', status: 'FAIL' }] };
      const response = await report(failed);
      expect(response.statusCode).toBe(201);
      expect(response.json()).toMatchObject({ build: { status: 'failed', packDigest: null } });
      const listed = await get('/api/v1/builds?status=failed');
      expect(listed.json()).toMatchObject({ items: [{ id: 'build-8', status: 'failed' }] });
    });

    it('refuses a failed build that carries a pack with 422 BUILD_GATE_FAILED and stores nothing', async () => {
      const response = await report({
        id: 'build-9',
        gates: [
          { name: 'unit', status: 'PASS' },
          { name: 'eval', status: 'ERROR' },
        ],
        packDigest: DIGEST,
      });
      expect(response.statusCode).toBe(422);
      expect(response.json()).toMatchObject({
        code: 'BUILD_GATE_FAILED',
        details: { gates: [{ name: 'eval', status: 'ERROR' }] },
      });
      expect(await t.stores.builds.find('build-9')).toBeNull();
    });

    it('refuses a build without gates with 422 BUILD_GATES_MISSING', async () => {
      const response = await report({ id: 'build-10', gates: [] });
      expect(response.statusCode).toBe(422);
      expect(response.json()).toMatchObject({ code: 'BUILD_GATES_MISSING' });
    });

    it('refuses a gate listed twice with 400 BUILD_INVALID', async () => {
      const gate = { name: 'unit', status: 'PASS' };
      const response = await report({ id: 'build-11', gates: [gate, gate] });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ code: 'BUILD_INVALID' });
    });

    it('refuses a malformed pack digest with 400 DIGEST_INVALID', async () => {
      const response = await report({ ...passed, packDigest: 'sha256:XYZ' });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ code: 'DIGEST_INVALID' });
      expect(await t.stores.builds.find('build-7')).toBeNull();
    });

    it('gets one build, and answers 404 BUILD_NOT_FOUND for an unknown id', async () => {
      await report(passed);
      const found = await get('/api/v1/builds/build-7');
      expect(found.statusCode).toBe(200);
      expect(found.json()).toMatchObject({ build: { id: 'build-7', status: 'passed' } });
      const missing = await get('/api/v1/builds/build-404');
      expect(missing.statusCode).toBe(404);
      expect(missing.json()).toMatchObject({ code: 'BUILD_NOT_FOUND' });
    });

    it('lists builds newest first, by status and limit', async () => {
      await report({ id: 'a', gates: [{ name: 'unit', status: 'PASS' }] });
      await report({ id: 'b', gates: [{ name: 'unit', status: 'FAIL' }] });
      await report({ id: 'c', gates: [{ name: 'unit', status: 'PASS' }] });
      const ids = async (url: string): Promise<string[]> =>
        (await get(url)).json<{ items: { id: string }[] }>().items.map((build) => build.id);
      expect(await ids('/api/v1/builds')).toEqual(['c', 'b', 'a']);
      expect(await ids('/api/v1/builds?status=passed')).toEqual(['c', 'a']);
      expect(await ids('/api/v1/builds?limit=1')).toEqual(['c']);
    });

    it('refuses bad list queries with 400 VALIDATION_FAILED', async () => {
      for (const query of ['status=green', 'limit=0', 'limit=1001', 'limit=ten', 'color=red']) {
        const response = await get(`/api/v1/builds?${query}`);
        expect(response.statusCode, query).toBe(400);
        expect(response.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
      }
    });
  });
}
