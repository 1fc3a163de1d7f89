import { afterEach, beforeEach, expect, it } from 'vitest';
import { createReleaseInputs } from '../../src/features/releases/release-inputs.ts';
import { loadReleaseWhy } from '../../src/features/releases/release-why.ts';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';
import {
  CHANNEL,
  ENV,
  baseline,
  createChannel,
  createRelease,
  createWorld,
  Fleet,
  putPlan,
  simulatedTargets,
} from '../helpers/release-world.ts';
import type { World } from '../helpers/release-world.ts';

/** Long enough for any read here to finish many times over; a deadlock never finishes. */
const DEADLOCK_MS = 10_000;

const sqlite = DIALECTS.filter((dialect) => dialect.name === 'sqlite');

/**
 * The controller reads a channel's kept inputs outside a transaction (each query takes the one
 * SQLite connection in turn), while a status read or a command uses them inside one (holding the
 * connection). Taken in that order, a status read that opened its transaction while the
 * controller held the inputs between two of its queries would wait for the inputs, and the
 * controller for the connection, for ever: the inputs are held before a transaction opens.
 */
for (const dialect of sqlite) {
  describeDialect(dialect, 'kept release inputs and the connection', () => {
    let w: World;

    beforeEach(async () => {
      w = await createWorld(dialect);
      await createChannel(w);
    });

    afterEach(async () => {
      await w.close();
    });

    it('a status read in a transaction and a read holding the inputs outside one both finish', async () => {
      await baseline(w, w.packs.v1);
      const fleet = new Fleet(w, simulatedTargets(4));
      await fleet.register();
      await fleet.step();
      await putPlan(w, 'one', [{ name: 'all', percent: 100, soakSeconds: 600, gates: [] }]);
      const created = await createRelease(w, { pack: w.packs.v2.digest, plan: 'one' });
      const stored = await w.t.stores.releases.find(created.id);
      const channel = await w.t.stores.channels.find(ENV, CHANNEL);
      if (stored === null || channel === null) throw new Error('no release or channel');
      const turns = w.t.testDatabase.database.sqlite?.turns;
      if (turns === undefined) throw new Error('a SQLite database takes turns');

      const inputs = createReleaseInputs();
      // Something else has the file (a batch of reports being written): every query waits.
      const endTurn = await turns.take();
      // The controller's way: the inputs held, its first query waiting for the connection.
      const outside = inputs.targets(w.t.stores, channel);
      await new Promise((resolve) => setImmediate(resolve));
      // A status read: a transaction that reads the inputs.
      const inside = loadReleaseWhy(w.t.stores, w.t.blobs, stored, w.clock.clock(), inputs);
      await new Promise((resolve) => setImmediate(resolve));
      endTurn();

      let timer: NodeJS.Timeout | undefined;
      const deadlocked = new Promise<'deadlocked'>((resolve) => {
        timer = setTimeout(() => resolve('deadlocked'), DEADLOCK_MS);
      });
      const outcome = await Promise.race([
        Promise.all([outside, inside]).then(() => 'finished' as const),
        deadlocked,
      ]);
      clearTimeout(timer);
      expect(outcome).toBe('finished');
      expect((await outside).length).toBe(4);
      expect(await inside).toMatchObject({ blockers: expect.any(Array) as unknown });
    });
  });
}
