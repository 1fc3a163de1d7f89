import { afterEach, expect, it } from 'vitest';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';
import { CHANNEL, createChannel, createWorld, ENV } from '../helpers/release-world.ts';
import type { Answer, World } from '../helpers/release-world.ts';

interface TargetAnswer {
  target?: { id: string; env: string; channel: string; labels: Record<string, string> };
  code?: string;
}

/**
 * Registrations arriving together are committed in groups (one transaction each): every one of
 * them is answered as if it had been alone, a refused one writes nothing and refuses no other.
 */
for (const dialect of DIALECTS) {
  describeDialect(dialect, 'PUT /targets/{id} at once (group commit)', () => {
    let w: World | null = null;

    afterEach(async () => {
      await w?.close();
      w = null;
    });

    const register = (
      world: World,
      id: string,
      channel: string,
      labels: Record<string, string> = { zone: 'a' },
    ): Promise<Answer<TargetAnswer>> =>
      world.call<TargetAnswer>('PUT', `/targets/${id}`, { env: ENV, channel, labels });

    it('answers each registration as if alone: new, moved, twice at once, into a missing channel', async () => {
      const world = (w = await createWorld(dialect));
      await createChannel(world);
      await createChannel(world, {}, ENV, 'beta');
      const movers = Array.from({ length: 30 }, (_, i) => `m-${String(i).padStart(3, '0')}`);
      for (const id of movers) expect((await register(world, id, CHANNEL)).status).toBe(201);
      const { targetsGeneration: stableBefore } = await world.t.stores.targets.channelCounters(
        ENV,
        CHANNEL,
      );

      const fresh = Array.from({ length: 250 }, (_, i) => `n-${String(i).padStart(3, '0')}`);
      const lost = Array.from({ length: 20 }, (_, i) => `x-${String(i).padStart(3, '0')}`);
      const answers = await Promise.all([
        ...fresh.map((id) => register(world, id, CHANNEL)),
        ...lost.map((id) => register(world, id, 'nowhere')),
        ...movers.map((id) => register(world, id, 'beta', { zone: 'b' })),
        // the same new target twice at once: one is created, the other updates it
        register(world, 'twice', CHANNEL, { zone: 'first' }),
        register(world, 'twice', CHANNEL, { zone: 'second' }),
      ]);

      const [freshAnswers, lostAnswers, moverAnswers, twiceAnswers] = [
        answers.slice(0, 250),
        answers.slice(250, 270),
        answers.slice(270, 300),
        answers.slice(300),
      ];
      expect(freshAnswers.map((a) => a.status)).toEqual(fresh.map(() => 201));
      expect(lostAnswers.map((a) => [a.status, a.body.code])).toEqual(
        lost.map(() => [404, 'CHANNEL_NOT_FOUND']),
      );
      expect(moverAnswers.map((a) => [a.status, a.body.target?.channel])).toEqual(
        movers.map(() => [200, 'beta']),
      );
      expect(twiceAnswers.map((a) => a.status).sort()).toEqual([200, 201]);

      // what is stored is what was answered, and nothing of the refused
      const stored = await world.t.stores.targets.findMany([...fresh, ...lost, ...movers, 'twice']);
      expect(stored.size).toBe(250 + 30 + 1);
      for (const id of lost) expect(stored.has(id)).toBe(false);
      for (const id of movers) {
        expect(stored.get(id)).toMatchObject({ channel: 'beta', labels: { zone: 'b' } });
      }
      const twice = stored.get('twice');
      const answeredLast = twiceAnswers.find((a) => a.status === 200)?.body.target?.labels;
      expect(twice?.labels).toEqual(answeredLast);

      // each move is recorded once; the channels' targets generations moved (the controller
      // reads their targets again)
      const moved = (await world.t.stores.decisions.list({ limit: 10_000 })).filter(
        (r) => r.rule === 'target.moved',
      );
      expect(moved.map((r) => r.inputs['target']).sort()).toEqual(movers);
      const { targetsGeneration: stableAfter } = await world.t.stores.targets.channelCounters(
        ENV,
        CHANNEL,
      );
      expect(stableAfter).toBeGreaterThan(stableBefore);

      // check-ins see where each target is now
      const desired = await world.call<{ pack: string | null }>('GET', `/targets/m-000/desired`);
      expect(desired.status).toBe(200);
    });
  });
}
