import { afterEach, beforeEach, expect, it } from 'vitest';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';
import {
  baseline,
  createChannel,
  createRelease,
  createWorld,
  Fleet,
  getRelease,
  putPlan,
  simulatedTargets,
} from '../helpers/release-world.ts';
import type { World } from '../helpers/release-world.ts';

/** An error-rate gate that needs `minTargets` targets of the stage to have reported. */
const gate = (minTargets: number) => ({
  metric: 'error_rate',
  op: '<=',
  threshold: 0.05,
  windowSeconds: 600,
  minTargets,
  minSamples: 1,
});

/**
 * The controller keeps the channel's targets, the stage membership and the reports between
 * ticks; a tick must still see what changed since the previous one.
 */
for (const dialect of DIALECTS) {
  describeDialect(dialect, 'controller ticks kept between them', () => {
    let w: World;

    beforeEach(async () => {
      w = await createWorld(dialect);
      await createChannel(w);
    });

    afterEach(async () => {
      await w.close();
    });

    const round = async (fleet: Fleet): Promise<void> => {
      await fleet.step();
      w.clock.advance(5);
      await w.t.services.controller.tick();
    };

    it('sees the stage grow when it advances and a target registered after the stage started', async () => {
      await baseline(w, w.packs.v1);
      const fleet = new Fleet(w, simulatedTargets(4));
      await fleet.register();
      await fleet.step();
      // The last stage needs five targets: the four the fleet starts with are not enough.
      await putPlan(w, 'two', [
        { name: 'canary', percent: 50, soakSeconds: 0, gates: [gate(1)] },
        { name: 'all', percent: 100, soakSeconds: 0, gates: [gate(5)] },
      ]);
      const release = await createRelease(w, { pack: w.packs.v2.digest, plan: 'two' });
      for (let i = 0; i < 6; i++) await round(fleet);
      const waiting = await getRelease(w, release.id);
      expect(waiting).toMatchObject({ state: 'rolling', stageIndex: 1 });
      expect(fleet.counts().get(w.packs.v2.digest)).toBe(4);

      const grown = new Fleet(w, simulatedTargets(5));
      await grown.register();
      for (let i = 0; i < 3; i++) await round(grown);
      expect((await getRelease(w, release.id)).state).toBe('completed');
    });

    it('counts the reports that arrive between ticks', async () => {
      await baseline(w, w.packs.v1);
      const fleet = new Fleet(w, simulatedTargets(3));
      await fleet.register();
      await putPlan(w, 'one', [{ name: 'all', percent: 100, soakSeconds: 3600, gates: [gate(3)] }]);
      const release = await createRelease(w, { pack: w.packs.v2.digest, plan: 'one' });
      for (let i = 0; i < 3; i++) await round(fleet);
      // Every target runs v2 and reports 50 % errors: the gate fails and the release rolls back.
      await fleet.step((_, pack) => (pack === w.packs.v2.digest ? 0.5 : 0));
      await w.t.services.controller.tick();
      expect((await getRelease(w, release.id)).state).toBe('rolled_back');
    });
  });
}
