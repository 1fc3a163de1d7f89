import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Principal } from '../../src/features/tokens/token-scope.ts';
import { createServices } from '../../src/services.ts';
import type { Stores } from '../../src/stores.ts';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';
import { baseline, CHANNEL, createChannel, createWorld, ENV } from '../helpers/release-world.ts';
import type { World } from '../helpers/release-world.ts';

const CHANNEL_URL = `/environments/${ENV}/channels/${CHANNEL}`;
const admin: Principal = { name: 'admin', scope: null };

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'registrations of one target that overlap', () => {
    let w: World;

    beforeEach(async () => {
      w = await createWorld(dialect);
      await createChannel(w);
      await baseline(w, w.packs.v1);
      // a pin for the eu cohort: what a target is told depends on its labels
      const cohorts = [{ name: 'eu', selector: { matchLabels: { region: 'eu' } } }];
      expect((await w.call('PUT', CHANNEL_URL, { cohorts })).status).toBe(200);
      const pinned = await w.call('PUT', `${CHANNEL_URL}/pins/eu`, {
        pack: w.packs.v2.digest,
        reason: 'eu first',
        expiresIn: '1h',
      });
      expect(pinned.status).toBe(200);
    });

    afterEach(async () => {
      await w.close();
    });

    it('commits overlapping registrations in order and answers check-ins by the row committed last', async () => {
      // The first registration commits, then is held before it returns; the second arrives
      // meanwhile. Registrations are committed in groups one after another (group-commit.ts), so
      // the second cannot commit before the first returns, and the cache keeps the last row.
      let armed = false;
      let firstCommitted!: () => void;
      const committed = new Promise<void>((resolve) => (firstCommitted = resolve));
      let releaseFirst!: () => void;
      const held = new Promise<void>((resolve) => (releaseFirst = resolve));
      const stores: Stores = {
        ...w.t.stores,
        transaction: async (fn) => {
          const result = await w.t.stores.transaction(fn);
          if (armed) {
            armed = false;
            firstCommitted();
            await held;
          }
          return result;
        },
      };
      const services = createServices(w.t.config, stores, w.t.blobs, w.clock.clock);
      try {
        const order: string[] = [];
        const register = (region: string) =>
          services.targets
            .register('racer', { env: ENV, channel: CHANNEL, labels: { region } }, admin)
            .then((answer) => {
              order.push(region);
              return answer;
            });
        armed = true;
        const first = register('eu');
        await committed;
        const second = register('us');
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(order).toEqual([]);
        releaseFirst();
        const answers = await Promise.all([first, second]);
        expect(order).toEqual(['eu', 'us']);
        expect(answers.map((a) => a.created)).toEqual([true, false]);
        expect((await w.t.stores.targets.find('racer'))?.labels).toEqual({ region: 'us' });
        expect(await services.targets.desired('racer', admin)).toMatchObject({
          pack: w.packs.v1.digest,
          reason: 'base',
        });
      } finally {
        releaseFirst();
        await services.close();
      }
    });
  });
}
