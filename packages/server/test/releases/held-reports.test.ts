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
  });
}
