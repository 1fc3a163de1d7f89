import { afterEach, expect, it } from 'vitest';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';
import {
  CHANNEL,
  createChannel,
  createWorld,
  ENV,
  Fleet,
  simulatedTargets,
} from '../helpers/release-world.ts';
import type { Answer, World } from '../helpers/release-world.ts';

const HOUR_AGO = '2026-03-02T07:00:00.000Z';
const IN_AN_HOUR = '2026-03-02T09:00:00.000Z';

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'POST /targets/{id}/reports (group commit)', () => {
    let w: World | null = null;

    afterEach(async () => {
      await w?.close();
      w = null;
    });

    const report = (world: World, id: string, requests: number): Promise<Answer> =>
      world.call('POST', `/targets/${id}/reports`, {
        activePack: world.packs.v1.digest,
        health: { requests, errors: 0 },
      });

    it('answers 202 only for reports it stored: every acknowledged report is there, with its target', async () => {
      const world = (w = await createWorld(dialect, { reportQueue: { maxBatch: 40 } }));
      await createChannel(world);
      const targets = simulatedTargets(50);
      await new Fleet(world, targets).register();

      // 200 reports at once: they are written in batches of at most 40.
      const answers = await Promise.all(
        targets.flatMap((target, i) =>
          [1, 2, 3, 4].map((n) => report(world, target.id, i * 10 + n)),
        ),
      );
      expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202));

      const stored = await world.t.stores.targets.listReports(ENV, CHANNEL, HOUR_AGO, IN_AN_HOUR);
      expect(stored).toHaveLength(200);
      const requests = stored.map((r) => r.health?.requests).sort((a, b) => (a ?? 0) - (b ?? 0));
      const sent = targets
        .flatMap((_, i) => [1, 2, 3, 4].map((n) => i * 10 + n))
        .sort((a, b) => a - b);
      expect(requests).toEqual(sent);
      for (const target of targets) {
        const got = await world.call<{
          target: { activePack: string | null; lastReportAt: string | null };
        }>('GET', `/targets/${target.id}`);
        expect(got.body.target.activePack).toBe(world.packs.v1.digest);
        expect(got.body.target.lastReportAt).not.toBeNull();
      }
    });

    it('answers 429 REPORTS_BACKLOGGED with Retry-After when the queue is full, and stores what it accepted', async () => {
      // An idle writer waits 300 ms for a batch to fill, so three reports wait and the fourth
      // finds the queue full.
      const world = (w = await createWorld(dialect, {
        reportQueue: { capacity: 3, maxBatch: 100, lingerMs: 300 },
      }));
      await createChannel(world);
      const targets = simulatedTargets(4);
      await new Fleet(world, targets).register();

      const accepted = targets.slice(0, 3).map((target) => report(world, target.id, 10));
      while (world.t.services.targets.waiting() < 3) await new Promise((r) => setTimeout(r, 1));
      const refused = await report(world, targets[3]?.id ?? '', 10);
      expect(refused.status).toBe(429);
      expect(refused.body).toMatchObject({ code: 'REPORTS_BACKLOGGED' });
      const retryAfter = Number(refused.headers['retry-after']);
      expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);

      expect((await Promise.all(accepted)).map((a) => a.status)).toEqual([202, 202, 202]);
      const stored = await world.t.stores.targets.listReports(ENV, CHANNEL, HOUR_AGO, IN_AN_HOUR);
      expect(stored.map((r) => r.targetId).sort()).toEqual(targets.slice(0, 3).map((t) => t.id));

      // Once the queue has room again the refused report is taken.
      expect((await report(world, targets[3]?.id ?? '', 10)).status).toBe(202);
    });
  });
}
