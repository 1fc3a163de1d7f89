import { afterEach, beforeEach, expect, it } from 'vitest';
import { newSigner } from '../helpers/packs.ts';
import { createTestApp } from '../helpers/test-app.ts';
import type { TestApp } from '../helpers/test-app.ts';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'trust routes', () => {
    let t: TestApp;

    beforeEach(async () => {
      t = await createTestApp(dialect);
    });

    afterEach(async () => {
      await t.close();
    });

    const addKey = (payload: object) =>
      t.app.inject({ method: 'POST', url: '/api/v1/trust/keys', headers: t.auth, payload });

    it('adds a key with 201, names it, and records who added it', async () => {
      const signer = newSigner();
      const response = await addKey({ publicKeyPem: signer.publicKeyPem, name: 'ci' });
      expect(response.statusCode).toBe(201);
      expect(response.json()).toEqual({
        key: {
          keyId: signer.keyId,
          name: 'ci',
          publicKeyPem: expect.stringContaining('BEGIN PUBLIC KEY') as unknown,
          addedAt: '2026-01-01T00:00:01.000Z', // the token bootstrap read 00:00:00
        },
      });
      expect(await t.stores.trust.find(signer.keyId)).toMatchObject({ addedBy: 'admin' });
    });

    it('answers 200 with the stored key when the key is already trusted', async () => {
      const signer = newSigner();
      const first = await addKey({ publicKeyPem: signer.publicKeyPem, name: 'ci' });
      const second = await addKey({ publicKeyPem: signer.publicKeyPem, name: 'renamed' });
      expect(second.statusCode).toBe(200);
      expect(second.json()).toEqual(first.json());
      expect(await t.stores.trust.list()).toHaveLength(1);
    });

    it('gives a key without a name a name from its id', async () => {
      const signer = newSigner();
      const response = await addKey({ publicKeyPem: signer.publicKeyPem });
      expect(response.json()).toMatchObject({ key: { name: `key-${signer.keyId.slice(0, 12)}` } });
    });

    it('refuses a bad key with 400 KEY_INVALID and stores nothing', async () => {
      for (const publicKeyPem of [
        'not a key',
        '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----',
      ]) {
        const response = await addKey({ publicKeyPem });
        expect(response.statusCode).toBe(400);
        expect(response.json()).toMatchObject({ code: 'KEY_INVALID' });
      }
      expect(await t.stores.trust.list()).toEqual([]);
    });

    it('lists trusted keys', async () => {
      const a = newSigner();
      const b = newSigner();
      await addKey({ publicKeyPem: a.publicKeyPem, name: 'a' });
      await addKey({ publicKeyPem: b.publicKeyPem, name: 'b' });
      const response = await t.app.inject({
        method: 'GET',
        url: '/api/v1/trust/keys',
        headers: t.auth,
      });
      expect(response.statusCode).toBe(200);
      const { items } = response.json<{ items: { keyId: string; name: string }[] }>();
      expect(items.map((key) => [key.name, key.keyId])).toEqual([
        ['a', a.keyId],
        ['b', b.keyId],
      ]);
    });

    it('removes a key with 200 and answers 404 KEY_NOT_FOUND afterwards', async () => {
      const signer = newSigner();
      await addKey({ publicKeyPem: signer.publicKeyPem, name: 'ci' });
      const remove = () =>
        t.app.inject({
          method: 'DELETE',
          url: `/api/v1/trust/keys/${signer.keyId}`,
          headers: t.auth,
        });
      const removed = await remove();
      expect(removed.statusCode).toBe(200);
      expect(removed.json()).toMatchObject({ key: { keyId: signer.keyId, name: 'ci' } });
      expect(await t.stores.trust.list()).toEqual([]);
      const again = await remove();
      expect(again.statusCode).toBe(404);
      expect(again.json()).toMatchObject({ code: 'KEY_NOT_FOUND' });
    });
  });
}
