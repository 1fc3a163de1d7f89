import type { RollbackPreviewResponse } from '@lockgate/api';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ReleaseView } from '../../src/features/releases/release-service.ts';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';
import {
  CHANNEL,
  createFleetWorld,
  createRelease,
  ENV,
  getRelease,
  putPlan,
} from '../helpers/release-world.ts';
import type { World, Fleet } from '../helpers/release-world.ts';

const CANARY = [
  { name: 'slow', percent: 25, soakSeconds: 600, gates: [] },
  { name: 'all', percent: 100, soakSeconds: 600, gates: [] },
];

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'the rollback preview', () => {
    let w: World;
    let fleet: Fleet;

    beforeEach(async () => {
      ({ w, fleet } = await createFleetWorld(dialect, { name: 'slow', stages: CANARY }, 40));
    });

    afterEach(async () => {
      await w.close();
    });

    const preview = async (id: string, query = ''): Promise<RollbackPreviewResponse> => {
      const got = await w.call<RollbackPreviewResponse>(
        'GET',
        `/releases/${id}/rollback-preview${query}`,
      );
      expect(got.status).toBe(200);
      return got.body;
    };

    it('says which targets move back to the LKG, and the rollback then moves exactly those', async () => {
      const created = await createRelease(w, { pack: w.packs.v2.digest, plan: 'slow' });
      await w.t.services.controller.tick();
      await fleet.step();
      const onCanary = [...fleet.desired].filter(([, d]) => d.pack === w.packs.v2.digest);
      expect(onCanary.length).toBeGreaterThan(0);

      const seen = await preview(created.id);
      expect(seen).toMatchObject({
        release: created.id,
        env: ENV,
        channel: CHANNEL,
        scope: 'rollback',
        to: w.packs.v1.digest,
        refusals: [],
        targets: 40,
        moves: [{ from: w.packs.v2.digest, to: w.packs.v1.digest, targets: onCanary.length }],
        stays: [{ pack: w.packs.v1.digest, targets: 40 - onCanary.length }],
      });
      // Nothing was written by the preview.
      expect((await getRelease(w, created.id)).state).toBe('rolling');

      const before = new Map([...fleet.desired].map(([id, d]) => [id, d.pack]));
      const rolled = await w.call<{ release: ReleaseView }>(
        'POST',
        `/releases/${created.id}/rollback`,
        { reason: 'latency' },
      );
      expect(rolled.status).toBe(200);
      await fleet.poll();
      const moved = [...fleet.desired].filter(([id, d]) => before.get(id) !== d.pack);
      expect(moved.length).toBe(seen.moves[0]?.targets);
      expect(moved.every(([, d]) => d.pack === w.packs.v1.digest)).toBe(true);
    });

    it('explains a refusal before anyone clicks: a completed release cannot be rolled back, only pinned', async () => {
      await putPlan(w, 'instant', [{ name: 'all', percent: 100, soakSeconds: 0, gates: [] }]);
      const done = await createRelease(w, { pack: w.packs.v2.digest, plan: 'instant' });
      await w.t.services.controller.tick();
      expect((await getRelease(w, done.id)).state).toBe('completed');

      const refused = await preview(done.id);
      expect(refused.refusals.map((r) => r.code)).toEqual(['RELEASE_STATE_INVALID']);
      expect(refused.moves).toEqual([]);

      const pin = await preview(done.id, `?scope=pin&to=${w.packs.v1.digest}`);
      expect(pin).toMatchObject({
        scope: 'pin',
        to: w.packs.v1.digest,
        refusals: [],
        moves: [{ from: w.packs.v2.digest, to: w.packs.v1.digest, targets: 40 }],
        stays: [],
      });
    });

    it('names the floor and a revoked pack as refusals of a pin', async () => {
      const revoked = await w.call('POST', `/packs/${w.packs.v3.digest}/revoke`, {
        reason: 'bad',
      });
      expect(revoked.status).toBe(200);
      const raised = await w.call('PUT', `/environments/${ENV}/channels/${CHANNEL}`, {
        floor: w.packs.v1.manifest.sequence + 1,
        acceptBaseBelowFloor: true,
        reason: 'raise the floor',
      });
      expect(raised.status).toBe(200);
      const created = await createRelease(w, { pack: w.packs.v2.digest, plan: 'slow' });

      const below = await preview(created.id, `?scope=pin&to=${w.packs.v1.digest}`);
      expect(below.refusals.map((r) => r.code)).toEqual(['RELEASE_BELOW_FLOOR']);
      const bad = await preview(created.id, `?scope=pin&to=${w.packs.v3.digest}`);
      expect(bad.refusals.map((r) => r.code)).toContain('PACK_REVOKED');
      expect(bad.moves).toEqual([]);
    });

    it('answers RELEASE_NOT_FOUND for an unknown release', async () => {
      const missing = await w.call('GET', '/releases/rel_nope/rollback-preview');
      expect(missing.status).toBe(404);
      expect(missing.body).toMatchObject({ code: 'RELEASE_NOT_FOUND' });
    });
  });
}
