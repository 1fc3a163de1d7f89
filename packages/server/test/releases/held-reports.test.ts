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

    it('take what this replica committed instead of reading it, and read on from a gap', async () => {
      const inputs = createReleaseInputs();
      const channel = await w.t.stores.channels.find(ENV, CHANNEL);
      if (channel === null) throw new Error('no channel');
      // the rows each catch-up page read from the database
      const pages: number[] = [];
      const { targets } = w.t.stores;
      const stores = {
        ...w.t.stores,
        targets: {
          ...targets,
          reportsAfter: async (...args: Parameters<typeof targets.reportsAfter>) => {
            const page = await targets.reportsAfter(...args);
            pages.push(page.length);
            return page;
          },
        },
      };
      let n = 0;
      const batch = (size: number): StoredReport[] =>
        Array.from({ length: size }, (_, i) => ({
          id: `r-${String((n += 1)).padStart(4, '0')}`,
          targetId: `t-00${i % 4}`,
          env: ENV,
          channel: CHANNEL,
          at: second(n % 50),
          activePack: w.packs.v1.digest,
          ...(i % 3 === 0 ? {} : { health: { requests: n, errors: i % 2 } }),
          ...(i % 5 === 0
            ? {
                lastAttempt: {
                  kind: 'activate',
                  pack: w.packs.v1.digest,
                  result: 'ok',
                  at: second(1),
                },
              }
            : {}),
        }));
      /** Written, and offered as the report queue does (numbered from the batch's first). */
      const committed = async (reports: StoredReport[], offered: boolean): Promise<void> => {
        const { firstSeqs } = await w.t.stores.targets.recordReports(reports);
        const first = firstSeqs.get(`${ENV}\n${CHANNEL}`) ?? 0;
        if (offered) inputs.offer(reports.map((report, i) => ({ report, seq: first + i })));
      };
      const caughtUp = async (): Promise<number[]> => {
        pages.length = 0;
        const held = await inputs.reports(stores, channel, FROM, TO);
        expect(held).toEqual(await w.t.stores.targets.listReports(ENV, CHANNEL, FROM, TO));
        return [...pages];
      };

      await committed(batch(10), true); // before anything is held: not kept, read with the window
      await caughtUp();
      await committed(batch(30), true);
      expect(await caughtUp()).toEqual([0]); // taken; the read finds nothing after them
      await committed(batch(7), false); // another replica's
      await committed(batch(20), true);
      expect(await caughtUp()).toEqual([27]); // a number missing: read on from the held ones
      await committed(batch(15), true);
      await committed(batch(15), true);
      expect(await caughtUp()).toEqual([0]);
      expect(n).toBe(97);
    });
  });
}
