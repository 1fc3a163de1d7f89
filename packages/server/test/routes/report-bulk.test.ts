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
  describeDialect(dialect, 'POST /reports (a relay forwards many targets’ reports)', () => {
    let w: World | null = null;

    afterEach(async () => {
      await w?.close();
      w = null;
    });

    /** A world with channels stable and canary and targets t-000…t-00(n-1) in stable. */
    async function world(n: number, options: Parameters<typeof createWorld>[1] = {}) {
      const made = (w = await createWorld(dialect, options));
      await createChannel(made);
      await createChannel(made, {}, ENV, 'canary');
      const targets = simulatedTargets(n);
      await new Fleet(made, targets).register();
      return { made, targets };
    }

    /** An agent token with this scope (a relay's token covers the targets it forwards for). */
    async function agentToken(
      made: World,
      scope: { targets: string[]; channels: string[] },
    ): Promise<Record<string, string>> {
      const created = await made.call<{ secret: string }>('POST', '/tokens', {
        name: `relay-${scope.targets.join('-').replaceAll('*', 'any')}`,
        role: 'agent',
        scope,
      });
      if (created.status !== 201) throw new Error(JSON.stringify(created.body));
      return { authorization: `Bearer ${created.body.secret}` };
    }

    const item = (made: World, target: string, requests: number) => ({
      target,
      activePack: made.packs.v1.digest,
      health: { requests, errors: 1 },
    });

    const stored = async (made: World) =>
      made.t.stores.targets.listReports(ENV, CHANNEL, HOUR_AGO, IN_AN_HOUR);

    it('stores every report of the request in one group commit, in order, and answers 202 with their number', async () => {
      const { made, targets } = await world(5);
      const relay = await agentToken(made, { targets: ['t-*'], channels: [`${ENV}/${CHANNEL}`] });
      const reports = [...targets.map((t, i) => item(made, t.id, 10 + i)), item(made, 't-000', 99)];
      const answer = await made.call('POST', '/reports', { reports }, relay);
      expect(answer).toMatchObject({ status: 202, body: { accepted: 6 } });
      // Numbered in request order (the channel's report numbers), each target left at its last.
      const numbered = await made.t.stores.targets.reportsAfter(ENV, CHANNEL, 0, 100);
      expect(numbered.map((r) => [r.report.targetId, r.report.health?.requests])).toEqual(
        reports.map((r) => [r.target, r.health.requests]),
      );
      for (const target of targets) {
        const got = await made.call<{ target: { activePack: string | null } }>(
          'GET',
          `/targets/${target.id}`,
        );
        expect(got.body.target.activePack).toBe(made.packs.v1.digest);
      }
    });

    it('refuses the whole request when one report is for a target outside the token scope (403, nothing stored)', async () => {
      const { made } = await world(3);
      const relay = await agentToken(made, {
        targets: ['t-000', 't-001'],
        channels: [`${ENV}/${CHANNEL}`],
      });
      const answer = await made.call(
        'POST',
        '/reports',
        {
          reports: [item(made, 't-000', 1), item(made, 't-001', 2), item(made, 't-002', 3)],
        },
        relay,
      );
      expect(answer.status).toBe(403);
      expect(answer.body).toMatchObject({
        code: 'FORBIDDEN',
        details: { index: 2, target: 't-002' },
      });
      expect(String(answer.body['message'])).toMatch(/^reports\[2\]: /);
      expect(await stored(made)).toEqual([]);
    });

    it('refuses the whole request when a target is unknown or in a channel outside the scope', async () => {
      const { made } = await world(2);
      // t-001 moves to canary: the relay's scope covers stable only.
      const moved = await made.call('PUT', '/targets/t-001', {
        env: ENV,
        channel: 'canary',
        labels: {},
      });
      expect(moved.status).toBe(200);
      const relay = await agentToken(made, { targets: ['*'], channels: [`${ENV}/${CHANNEL}`] });
      const unknown = await made.call(
        'POST',
        '/reports',
        { reports: [item(made, 't-000', 1), item(made, 'nobody', 2)] },
        relay,
      );
      expect(unknown.status).toBe(404);
      expect(unknown.body).toMatchObject({ code: 'TARGET_NOT_FOUND', details: { index: 1 } });
      const elsewhere = await made.call(
        'POST',
        '/reports',
        { reports: [item(made, 't-000', 1), item(made, 't-001', 2)] },
        relay,
      );
      expect(elsewhere.status).toBe(403);
      expect(elsewhere.body).toMatchObject({ code: 'FORBIDDEN', details: { index: 1 } });
      expect(await stored(made)).toEqual([]);
    });

    it('refuses an empty request, more than 500 reports and a malformed one with 400, storing nothing', async () => {
      const { made } = await world(1);
      const tooMany = Array.from({ length: 501 }, (_, i) => item(made, 't-000', i));
      for (const body of [
        { reports: [] },
        { reports: tooMany },
        { reports: [{ ...item(made, 't-000', 1), health: { requests: -1 } }] },
        { reports: [item(made, 't-000', 1)], extra: true },
      ]) {
        const answer = await made.call('POST', '/reports', body);
        expect(answer.status).toBe(400);
        expect(answer.body).toMatchObject({ code: 'VALIDATION_FAILED' });
      }
      expect(await stored(made)).toEqual([]);
    });

    it('answers 429 REPORTS_BACKLOGGED with Retry-After when the request does not fit the queue, and takes it once it does', async () => {
      // An idle writer waits 300 ms for a batch to fill: two reports wait, and a request of
      // three does not fit a queue of four.
      const { made, targets } = await world(5, {
        reportQueue: { capacity: 4, maxBatch: 100, lingerMs: 300 },
      });
      const single = (id: string): Promise<Answer> => {
        const { target: _target, ...report } = item(made, id, 1);
        return made.call('POST', `/targets/${id}/reports`, report);
      };
      const waiting = [single('t-000'), single('t-001')];
      while (made.t.services.targets.waiting() < 2) await new Promise((r) => setTimeout(r, 1));
      const three = { reports: targets.slice(2).map((t) => item(made, t.id, 2)) };
      const refused = await made.call('POST', '/reports', three);
      expect(refused.status).toBe(429);
      expect(refused.body).toMatchObject({ code: 'REPORTS_BACKLOGGED' });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect((await Promise.all(waiting)).map((a) => a.status)).toEqual([202, 202]);
      expect((await stored(made)).map((r) => r.targetId).sort()).toEqual(['t-000', 't-001']);
      expect((await made.call('POST', '/reports', three)).status).toBe(202);
      expect(await stored(made)).toHaveLength(5);
    });
  });
}
