import fc from 'fast-check';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createReleaseInputs } from '../../src/features/releases/release-inputs.ts';
import type { StoredReport } from '../../src/features/targets/target-store.ts';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';
import {
  CHANNEL,
  createChannel,
  createWorld,
  ENV,
  Fleet,
  simulatedTargets,
} from '../helpers/release-world.ts';
import type { World } from '../helpers/release-world.ts';

const FROM = '2026-03-02T07:00:00.000Z';
const TO = '2026-03-02T09:00:00.000Z';

/** `2026-03-02T08:00:SS.000Z`: a second of the window. */
const second = (s: number): string => `2026-03-02T08:00:${String(s).padStart(2, '0')}.000Z`;

/**
 * The controller's held reports (read on by number between ticks) against a full read of the
 * window, when batches commit reports stamped out of order and many reports share a time (their
 * order then is by id): the same reports in the same order after every batch.
 */
for (const dialect of DIALECTS) {
  describeDialect(dialect, 'held reports read on between ticks', () => {
    let w: World;

    beforeEach(async () => {
      w = await createWorld(dialect);
      await createChannel(w);
      await new Fleet(w, simulatedTargets(4)).register();
    });

    afterEach(async () => {
      await w.close();
    });

    it('hold exactly the window a full read gives, in its order, batch after batch', async () => {
      let n = 0;
      const batches = fc.sample(
        fc.array(
          fc.array(fc.record({ target: fc.nat(3), at: fc.nat(20), id: fc.uuid() }), {
            minLength: 1,
            maxLength: 12,
          }),
          { minLength: 6, maxLength: 6 },
        ),
        { numRuns: 1, seed: 13 },
      )[0];
      const inputs = createReleaseInputs();
      for (const batch of batches ?? []) {
        const reports: StoredReport[] = batch.map((r) => ({
          id: `${r.id}-${(n += 1)}`,
          targetId: `t-00${r.target}`,
          env: ENV,
          channel: CHANNEL,
          at: second(r.at),
          activePack: w.packs.v1.digest,
          health: { requests: n, errors: 0 },
        }));
        await w.t.stores.targets.recordReports(reports);
        const [held, full] = await w.t.stores.transaction(async (tx) => {
          const channel = await tx.channels.find(ENV, CHANNEL);
          if (channel === null) throw new Error('no channel');
          return [
            await inputs.reports(tx, channel, FROM, TO),
            await tx.targets.listReports(ENV, CHANNEL, FROM, TO),
          ];
        });
        expect(held).toEqual(full);
      }
      expect(n).toBeGreaterThan(20);
    });

    it('hold each report once when the controller, a command and a status read at once', async () => {
      const inputs = createReleaseInputs();
      const channel = await w.t.stores.channels.find(ENV, CHANNEL);
      if (channel === null) throw new Error('no channel');
      let n = 0;
      for (let round = 0; round < 4; round++) {
        const reports: StoredReport[] = Array.from({ length: 25 }, (_, i) => ({
          id: `r-${String((n += 1)).padStart(4, '0')}`,
          targetId: `t-00${i % 4}`,
          env: ENV,
          channel: CHANNEL,
          at: second(round * 10 + (i % 10)),
          activePack: w.packs.v1.digest,
          health: { requests: n, errors: 0 },
        }));
        await w.t.stores.targets.recordReports(reports);
        // three readers catch up at the same time (on PostgreSQL each on its own connection)
        const read = (): Promise<unknown> => inputs.reports(w.t.stores, channel, FROM, TO);
        const held = await Promise.all([read(), read(), read()]);
        const full = await w.t.stores.targets.listReports(ENV, CHANNEL, FROM, TO);
        expect(full).toHaveLength(n);
        for (const one of held) expect(one).toEqual(full);
      }
    });
  });
}
