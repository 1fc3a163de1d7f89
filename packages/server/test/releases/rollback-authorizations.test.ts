import type { ChannelIndexPayload, DsseEnvelope } from '@lockgate/core';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { RollbackAuthorizationView } from '../../src/features/channels/channel-service.ts';
import type { DecisionRecord } from '../../src/features/decisions/decision-store.ts';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';
import { CHANNEL, createChannel, createWorld, ENV } from '../helpers/release-world.ts';
import type { World } from '../helpers/release-world.ts';

const CHANNEL_URL = `/environments/${ENV}/channels/${CHANNEL}`;
const AUTH_URL = `${CHANNEL_URL}/rollback-authorizations`;

interface AuthorizationAnswer {
  rollbackAuthorization: RollbackAuthorizationView;
}

async function indexOf(w: World): Promise<ChannelIndexPayload> {
  const got = await w.call<DsseEnvelope>('GET', `/channels/${ENV}/${CHANNEL}/index`);
  return JSON.parse(
    Buffer.from(got.body.payload, 'base64').toString('utf8'),
  ) as ChannelIndexPayload;
}

async function decisions(w: World): Promise<DecisionRecord[]> {
  return (await w.call<{ items: DecisionRecord[] }>('GET', '/decisions?limit=1000')).body.items;
}

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'rollback authorizations', () => {
    let w: World;

    beforeEach(async () => {
      w = await createWorld(dialect);
      await createChannel(w, { floor: 3 });
    });

    afterEach(async () => {
      await w.close();
    });

    const authorize = (pack: string, expiresIn: string, reason = 'incident 7') =>
      w.call<AuthorizationAnswer>('POST', AUTH_URL, { pack, reason, expiresIn });

    it('returns the existing authorization for an identical one, and the index holds it once', async () => {
      const first = await authorize(w.packs.v1.digest, '24h');
      expect(first.status).toBe(201);
      const recorded = (await decisions(w)).length;
      const again = await authorize(w.packs.v1.digest, '24h', 'asked twice');
      expect(again.status).toBe(200);
      expect(again.body.rollbackAuthorization).toEqual(first.body.rollbackAuthorization);
      const shorter = await authorize(w.packs.v1.digest, '1h');
      expect(shorter.status).toBe(200);
      expect(shorter.body.rollbackAuthorization).toEqual(first.body.rollbackAuthorization);
      expect((await decisions(w)).length).toBe(recorded);
      expect((await indexOf(w)).rollbackAuthorizations).toEqual([
        {
          pack: w.packs.v1.digest,
          reason: 'incident 7',
          expiresAt: first.body.rollbackAuthorization.expiresAt,
        },
      ]);
    });

    it('extends the existing authorization to a later expiry under the same id, recorded', async () => {
      const first = await authorize(w.packs.v1.digest, '1h');
      const later = await authorize(w.packs.v1.digest, '48h', 'needs longer');
      expect(later.status).toBe(200);
      expect(later.body.rollbackAuthorization).toMatchObject({
        id: first.body.rollbackAuthorization.id,
        reason: 'needs longer',
        expiresAt: new Date(w.clock.now().getTime() + 48 * 3_600_000).toISOString(),
      });
      expect((await decisions(w)).at(-1)).toMatchObject({
        kind: 'rollback_authorization',
        rule: 'rollback_authorization.extended',
        inputs: {
          id: first.body.rollbackAuthorization.id,
          previousExpiresAt: first.body.rollbackAuthorization.expiresAt,
        },
      });
      const index = await indexOf(w);
      expect(index.rollbackAuthorizations.map((a) => [a.pack, a.expiresAt])).toEqual([
        [w.packs.v1.digest, later.body.rollbackAuthorization.expiresAt],
      ]);
    });

    it('keeps one authorization per pack when the same pack is pinned again', async () => {
      await authorize(w.packs.v1.digest, '1h');
      for (const expiresIn of ['2h', '3h']) {
        const pinned = await w.call('PUT', `${CHANNEL_URL}/pins/_`, {
          pack: w.packs.v1.digest,
          reason: 'hold',
          expiresIn,
        });
        expect(pinned.status).toBe(200);
      }
      const listed = await w.call<{ items: RollbackAuthorizationView[] }>('GET', AUTH_URL);
      expect(listed.body.items).toHaveLength(1);
      expect((await indexOf(w)).rollbackAuthorizations).toHaveLength(1);
    });

    it('lists the unexpired authorizations and revokes one, re-signing the index', async () => {
      const one = await authorize(w.packs.v1.digest, '1h');
      w.clock.advance(1);
      const two = await authorize(w.packs.v2.digest, '24h');
      const listed = await w.call<{ items: RollbackAuthorizationView[] }>('GET', AUTH_URL);
      expect(listed.status).toBe(200);
      expect(listed.body.items.map((a) => a.id)).toEqual([
        one.body.rollbackAuthorization.id,
        two.body.rollbackAuthorization.id,
      ]);
      const before = (await indexOf(w)).version;
      const revoked = await w.call<AuthorizationAnswer>(
        'DELETE',
        `${AUTH_URL}/${two.body.rollbackAuthorization.id}`,
        { reason: 'not needed' },
      );
      expect(revoked.status).toBe(200);
      expect(revoked.body.rollbackAuthorization.pack).toBe(w.packs.v2.digest);
      const index = await indexOf(w);
      expect(index.version).toBeGreaterThan(before);
      expect(index.rollbackAuthorizations.map((a) => a.pack)).toEqual([w.packs.v1.digest]);
      expect((await decisions(w)).at(-1)).toMatchObject({
        rule: 'rollback_authorization.revoked',
        reason: 'not needed',
        inputs: { id: two.body.rollbackAuthorization.id, pack: w.packs.v2.digest },
      });
      w.clock.advance(2 * 3600);
      const later = await w.call<{ items: RollbackAuthorizationView[] }>('GET', AUTH_URL);
      expect(later.body.items).toEqual([]);
      const expired = await w.call('DELETE', `${AUTH_URL}/${one.body.rollbackAuthorization.id}`, {
        reason: 'gone already',
      });
      expect(expired.status).toBe(404);
      expect(expired.body).toMatchObject({ code: 'ROLLBACK_AUTHORIZATION_NOT_FOUND' });
    });

    it('refuses to revoke the authorization that lets a pinned pack below the floor run', async () => {
      await authorize(w.packs.v1.digest, '24h');
      await w.call('PUT', `${CHANNEL_URL}/pins/_`, {
        pack: w.packs.v1.digest,
        reason: 'hold',
        expiresIn: '1h',
      });
      const [only] = (await w.call<{ items: RollbackAuthorizationView[] }>('GET', AUTH_URL)).body
        .items;
      const refused = await w.call('DELETE', `${AUTH_URL}/${only?.id ?? 'x'}`, { reason: 'oops' });
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ code: 'CONFLICT', details: { uses: ['pin _'] } });
      expect((await indexOf(w)).rollbackAuthorizations).toHaveLength(1);
    });

    it('refuses a pin whose pack does not meet the channel constraints, like a release', async () => {
      await w.call('PUT', CHANNEL_URL, { constraints: { schema: 'kb/4' }, reason: 'new schema' });
      const refused = await w.call('PUT', `${CHANNEL_URL}/pins/_`, {
        pack: w.packs.v4.digest,
        reason: 'hold',
        expiresIn: '1h',
      });
      expect(refused.body).toMatchObject({ code: 'PACK_INCOMPATIBLE' });
      expect((await indexOf(w)).pins).toEqual([]);
    });

    it('refuses a floor above a pinned pack that no authorization covers', async () => {
      await w.call('PUT', CHANNEL_URL, { floor: null });
      await w.call('PUT', `${CHANNEL_URL}/pins/_`, {
        pack: w.packs.v1.digest,
        reason: 'hold',
        expiresIn: '1h',
      });
      const [only] = (await w.call<{ items: RollbackAuthorizationView[] }>('GET', AUTH_URL)).body
        .items;
      expect(
        (await w.call('DELETE', `${AUTH_URL}/${only?.id ?? 'x'}`, { reason: 'r' })).status,
      ).toBe(200);
      const raised = await w.call('PUT', CHANNEL_URL, { floor: 3, acceptBaseBelowFloor: true });
      expect(raised.status).toBe(409);
      expect(raised.body).toMatchObject({ code: 'CONFLICT', details: { cohort: '_' } });
      expect((await indexOf(w)).floor).toBeNull();
    });
  });
}
