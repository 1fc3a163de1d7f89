import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ChannelView } from '../../src/features/channels/channel-service.ts';
import type { ReleaseView } from '../../src/features/releases/release-service.ts';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';
import {
  CHANNEL,
  createFleetWorld,
  ENV,
  getRelease,
  timelineOf,
} from '../helpers/release-world.ts';
import type { World, Fleet } from '../helpers/release-world.ts';

/** A first stage that waits for two approvals, then everyone. */
const APPROVED = [
  { name: 'canary', percent: 25, soakSeconds: 60, gates: [], approvals: 2 },
  { name: 'all', percent: 100, soakSeconds: 60, gates: [] },
];

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'approvals by the principals of API tokens', () => {
    let w: World;
    let fleet: Fleet;
    /** Authorization headers of operator tokens created through POST /tokens. */
    const principals = new Map<string, Record<string, string>>();

    const as = (name: string): Record<string, string> => {
      const headers = principals.get(name);
      if (headers === undefined) throw new Error(`no token for ${name}`);
      return headers;
    };

    /** `name` requests a release of kb 2.0.0 with the plan `approved`; the controller takes it. */
    const requestRelease = async (name: string): Promise<ReleaseView> => {
      const created = await w.call<{ release: ReleaseView }>(
        'POST',
        '/releases',
        { env: ENV, channel: CHANNEL, pack: w.packs.v2.digest, plan: 'approved', reason: 'kb 2' },
        as(name),
      );
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      await w.t.services.controller.tick();
      return created.body.release;
    };

    const command = async (
      name: string,
      id: string,
      verb: 'approve' | 'reject',
    ): Promise<{ status: number; code: unknown }> => {
      const answer = await w.call(
        'POST',
        `/releases/${id}/${verb}`,
        { reason: `${name} says ${verb}` },
        as(name),
      );
      return { status: answer.status, code: answer.body['code'] };
    };

    beforeEach(async () => {
      ({ w, fleet } = await createFleetWorld(dialect, { name: 'approved', stages: APPROVED }, 8));
      for (const name of ['alice', 'bob', 'carol']) {
        const created = await w.call<{ secret: string }>('POST', '/tokens', {
          name,
          role: 'operator',
        });
        expect(created.status).toBe(201);
        principals.set(name, { authorization: `Bearer ${created.body.secret}` });
      }
    });

    afterEach(async () => {
      principals.clear();
      await w.close();
    });

    it('starts the stage after two approvals by principals other than the requester', async () => {
      const created = await requestRelease('alice');
      expect(created.requestedBy).toBe('alice');
      expect(await getRelease(w, created.id)).toMatchObject({
        state: 'rolling',
        stageStartedAt: null,
      });

      expect(await command('alice', created.id, 'approve')).toEqual({
        status: 403,
        code: 'APPROVAL_SELF',
      });
      expect(await command('bob', created.id, 'approve')).toEqual({
        status: 200,
        code: undefined,
      });
      expect(await command('bob', created.id, 'approve')).toEqual({
        status: 409,
        code: 'APPROVAL_DUPLICATE',
      });
      await w.t.services.controller.tick();
      expect((await getRelease(w, created.id)).stageStartedAt).toBeNull();
      await fleet.poll();
      expect([...fleet.desired.values()].every((d) => d.pack === w.packs.v1.digest)).toBe(true);

      expect(await command('carol', created.id, 'approve')).toEqual({
        status: 200,
        code: undefined,
      });
      await w.t.services.controller.tick();
      const started = await getRelease(w, created.id);
      expect(started.stageStartedAt).toBe(w.clock.now().toISOString());
      expect(started.approvals.map((a) => a.actor)).toEqual(['bob', 'carol']);
      expect(started.currentStage).toMatchObject({ name: 'canary', percent: 25 });

      const timeline = await timelineOf(w, created.id);
      expect(timeline[0]).toMatchObject({ rule: 'release.create', actor: 'alice' });
      expect(
        timeline.filter((r) => r.kind === 'approval').map((r) => [r.actor, r.rule, r.verdict]),
      ).toEqual([
        ['bob', 'command.approve', 'approval_recorded'],
        ['carol', 'command.approve', 'approvals_met'],
        ['controller', 'approvals.met', 'started'],
      ]);
    });

    it('aborts the release when another principal rejects it', async () => {
      const created = await requestRelease('alice');
      expect(await command('bob', created.id, 'reject')).toEqual({
        status: 200,
        code: undefined,
      });
      expect(await getRelease(w, created.id)).toMatchObject({
        state: 'aborted',
        currentStage: null,
      });
      expect((await timelineOf(w, created.id)).at(-1)).toMatchObject({
        kind: 'approval',
        rule: 'command.reject',
        actor: 'bob',
        reason: 'bob says reject',
        to: 'aborted',
      });
      const channel = await w.call<{ channel: ChannelView }>(
        'GET',
        `/environments/${ENV}/channels/${CHANNEL}`,
      );
      expect(channel.body.channel.activeRelease).toBeNull();
      expect(await command('carol', created.id, 'approve')).toMatchObject({ status: 409 });
    });
  });
}
