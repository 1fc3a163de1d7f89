import { decide, evaluateStageGates, stageRefusals } from '@lockgate/core';
import type { DecideResult, ReleaseContext } from '@lockgate/core';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { sql } from 'kysely';
import {
  loadReleaseContext,
  lockAndReadRelease,
  readLockedRelease,
} from '../../src/features/releases/release-context.ts';
import { createReleaseInputs } from '../../src/features/releases/release-inputs.ts';
import type { ReleaseInputs } from '../../src/features/releases/release-inputs.ts';
import type { Stores } from '../../src/stores.ts';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';
import {
  CHANNEL,
  ENV,
  baseline,
  createChannel,
  createRelease,
  createWorld,
  Fleet,
  getRelease,
  putPlan,
  simulatedTargets,
  timelineOf,
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

/** Without the context digest, which differs on purpose (the contexts differ). */
function withoutContext(result: DecideResult): unknown {
  return {
    ...result,
    decisions: result.decisions.map((d) => ({ ...d, inputs: { ...d.inputs, context: null } })),
  };
}

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

    /**
     * A transaction that locks the channel and holds the lock until `unlock`, then runs `then`
     * in it and commits (`done`); resolves once the lock is taken.
     */
    const holdChannelLock = async (
      then: (tx: Stores) => Promise<void> = async () => {},
    ): Promise<{ unlock: () => void; done: Promise<void> }> => {
      let unlock: () => void = () => undefined;
      const held = new Promise<void>((resolve) => (unlock = resolve));
      let locked: () => void = () => undefined;
      const lockTaken = new Promise<void>((resolve) => (locked = resolve));
      const done = w.t.stores.transaction(async (tx) => {
        await tx.channels.lock(ENV, CHANNEL);
        locked();
        await held;
        await then(tx);
      });
      await lockTaken;
      return { unlock, done };
    };

    const round = async (fleet: Fleet): Promise<void> => {
      await fleet.step();
      w.clock.advance(5);
      await w.t.services.controller.tick();
    };

    /** Three targets on v1, a release of v2 soaking an hour behind a gate on all three, ticked. */
    const gatedRelease = async (rounds: number) => {
      await baseline(w, w.packs.v1);
      const fleet = new Fleet(w, simulatedTargets(3));
      await fleet.register();
      await putPlan(w, 'one', [{ name: 'all', percent: 100, soakSeconds: 3600, gates: [gate(3)] }]);
      const release = await createRelease(w, { pack: w.packs.v2.digest, plan: 'one' });
      for (let i = 0; i < rounds; i++) await round(fleet);
      return { fleet, release };
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

    // PostgreSQL only: SQLite has one writer, nothing runs beside an operator's transaction
    if (dialect.name === 'postgres') {
      it('takes no channel lock on a tick that changes nothing; it decides under the lock when it does', async () => {
        await baseline(w, w.packs.v1);
        const fleet = new Fleet(w, simulatedTargets(4));
        await fleet.register();
        await putPlan(w, 'one', [
          { name: 'all', percent: 100, soakSeconds: 600, gates: [gate(1)] },
        ]);
        const release = await createRelease(w, { pack: w.packs.v2.digest, plan: 'one' });
        await round(fleet);
        expect(await getRelease(w, release.id)).toMatchObject({ state: 'rolling', stageIndex: 0 });
        // An operator's transaction holds the channel's lock while the controller ticks.
        const { unlock, done: operator } = await holdChannelLock();
        try {
          w.clock.advance(5);
          const quiet = await w.t.services.controller.tick();
          expect(quiet).toMatchObject({ leader: true, decisions: 0, failures: 0 });
          // the soak is over: this tick has a decision to make, and waits for the lock to make it
          w.clock.advance(600);
          await fleet.step();
          let ticked = false;
          const deciding = w.t.services.controller.tick().then((result) => {
            ticked = true;
            return result;
          });
          await new Promise((resolve) => setTimeout(resolve, 300));
          expect(ticked).toBe(false);
          unlock();
          expect((await deciding).decisions).toBeGreaterThan(0);
        } finally {
          unlock();
          await operator;
        }
        expect((await getRelease(w, release.id)).state).toBe('completed');
      });
    }

    // PostgreSQL only: the statement that locks the channel reads the other rows from a snapshot
    // taken before the lock is granted
    if (dialect.name === 'postgres') {
      it('locks the channel and reads in one statement, never older than the lock it waited for', async () => {
        const { release } = await gatedRelease(1);
        const where = { env: ENV, name: CHANNEL };
        const read = (tx: Stores) => lockAndReadRelease(tx, release.id, where, w.packs.v2.digest);
        // Alone: one statement locks the row (another transaction cannot take it) and reads.
        await w.t.stores.transaction(async (tx) => {
          const alone = await read(tx);
          expect(alone?.channel).toMatchObject(where);
          expect(alone?.stored?.release.id).toBe(release.id);
          await expect(
            sql`select 1 from channels where env = ${ENV} and name = ${CHANNEL} for update nowait`.execute(
              w.t.testDatabase.database.db,
            ),
          ).rejects.toThrow(/could not obtain lock/);
        });
        // Waiting: another transaction holds the lock, adds a pin and commits. The statement's
        // snapshot predates the pin; the read that comes back has it all the same.
        const { unlock, done: holder } = await holdChannelLock((other) =>
          other.channels.upsertPin({
            env: ENV,
            channel: CHANNEL,
            cohort: '_',
            selector: null,
            pack: w.packs.v1.digest,
            reason: 'hold v1',
            actor: 'admin',
            createdAt: w.clock.now().toISOString(),
            expiresAt: new Date(w.clock.now().getTime() + 3_600_000).toISOString(),
          }),
        );
        const waiting = w.t.stores.transaction(read);
        await new Promise((resolve) => setTimeout(resolve, 200));
        unlock();
        await holder;
        const after = await waiting;
        expect(after?.rows.pins.map((pin) => [pin.cohort, pin.pack])).toEqual([
          ['_', w.packs.v1.digest],
        ]);
        expect(after?.rows.packs.has(w.packs.v1.digest)).toBe(true);
      });
    }

    it('counts the reports that arrive between ticks', async () => {
      const { fleet, release } = await gatedRelease(3);
      // Every target runs v2 and reports 50 % errors: the gate fails and the release rolls back.
      await fleet.step((_, pack) => (pack === w.packs.v2.digest ? 0.5 : 0));
      await w.t.services.controller.tick();
      expect((await getRelease(w, release.id)).state).toBe('rolled_back');
    });

    it("decides a command whose clock reading is behind the last tick at the tick's time", async () => {
      const { release } = await gatedRelease(2);
      const tickedAt = w.clock.now().toISOString();
      // The command read the clock before the tick read it, then waited for the channel: its
      // decision is made at the tick's time, on the reports held at that time (a decision at
      // the earlier time would read the gate window again and rebuild the stage rollup).
      w.clock.advance(-3);
      const paused = await w.call('POST', `/releases/${release.id}/pause`, { reason: 'look' });
      expect(paused.status).toBe(200);
      const pause = (await timelineOf(w, release.id)).at(-1);
      expect(pause).toMatchObject({ to: 'paused', at: tickedAt });
      // A reading later than the tick's is the decision's time.
      w.clock.advance(10);
      const resumedAt = w.clock.now().toISOString();
      await w.call('POST', `/releases/${release.id}/resume`, { reason: 'go on' });
      expect((await timelineOf(w, release.id)).at(-1)).toMatchObject({
        to: 'rolling',
        at: resumedAt,
      });
    });

    it("reads the gate window once when a status read comes between a tick's clock reading and its decision", async () => {
      const windowReads = async (): Promise<number> => {
        const series = `lockgate_controller_window_reads_total{env="${ENV}",channel="${CHANNEL}"} `;
        const text = await w.t.services.metrics.render();
        const line = text.split('\n').find((l) => l.startsWith(series));
        return line === undefined ? 0 : Number(line.slice(series.length));
      };
      const { fleet, release } = await gatedRelease(2);
      expect(await windowReads()).toBe(1);
      await fleet.step();
      // A command holds the channel's inputs. A tick reads the clock and waits for them; then a
      // status read, at a later time, waits too. The tick decides first, and at no time earlier
      // than the inputs were read at: the status read comes after it or before its clock is
      // read, never between (it would move the window on, and the tick would read it again).
      let letGo: () => void = () => undefined;
      const command = w.t.services.releaseInputs.hold(
        { env: ENV, name: CHANNEL },
        () => new Promise<void>((resolve) => (letGo = resolve)),
      );
      const ticking = w.t.services.controller.tick();
      await new Promise((resolve) => setTimeout(resolve, 200));
      w.clock.advance(3);
      const reading = w.call('GET', `/releases/${release.id}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      letGo();
      await command;
      const [ticked, read] = await Promise.all([ticking, reading]);
      expect(ticked).toMatchObject({ leader: true, failures: 0 });
      expect(read.status).toBe(200);
      expect(await windowReads()).toBe(1);
      // a status read at a later time still reads on from the held reports
      w.clock.advance(3);
      expect((await w.call('GET', `/releases/${release.id}`)).status).toBe(200);
      expect(await windowReads()).toBe(1);
    });

    it('decides on its stage measures exactly what a full read of the reports decides', async () => {
      await baseline(w, w.packs.v1);
      const fleet = new Fleet(w, simulatedTargets(6));
      await fleet.register();
      await putPlan(w, 'measured', [
        {
          name: 'canary',
          percent: 50,
          soakSeconds: 3600,
          gates: [
            gate(2),
            { ...gate(1), metric: 'latency_p95_ms', threshold: 500, windowSeconds: 30 },
            { ...gate(1), metric: 'activation_success_rate', op: '>=', threshold: 0.9 },
          ],
        },
        { name: 'all', percent: 100, soakSeconds: 0, gates: [] },
      ]);
      const release = await createRelease(w, { pack: w.packs.v2.digest, plan: 'measured' });
      const inputs = createReleaseInputs();
      const load = (kept?: ReleaseInputs): Promise<ReleaseContext> =>
        w.t.stores.transaction(async (tx) => {
          const channel = await tx.channels.lock(ENV, CHANNEL);
          const stored = await tx.releases.find(release.id);
          if (channel === null || stored === null) throw new Error('missing');
          return loadReleaseContext(tx, w.t.blobs, stored.release, channel, w.clock.now(), kept);
        });
      // as a command or a locked tick loads it: holding the inputs, their first reads joined to
      // the release's read (ReleaseInputs.firstReads), with inputs of their own
      const joinedInputs = createReleaseInputs();
      const loadJoined = (): Promise<ReleaseContext> =>
        joinedInputs.hold({ env: ENV, name: CHANNEL }, () =>
          w.t.stores.transaction(async (tx) => {
            const channel = await tx.channels.lock(ENV, CHANNEL);
            if (channel === null) throw new Error('missing');
            const locked = await readLockedRelease(
              tx,
              release.id,
              channel,
              w.packs.v2.digest,
              joinedInputs,
            );
            if (locked.stored === null) throw new Error('missing');
            const { rows, read } = locked;
            const at = w.clock.now();
            return loadReleaseContext(
              tx,
              w.t.blobs,
              locked.stored.release,
              channel,
              at,
              joinedInputs,
              rows,
              read,
            );
          }),
        );
      let measuredTicks = 0;
      for (let i = 0; i < 8; i++) {
        // errors on some targets, and more as the rounds go on
        await fleet.step((id, pack) =>
          pack === w.packs.v2.digest && id.endsWith('1') ? i / 20 : 0,
        );
        w.clock.advance(7);
        const full = await load();
        const kept = await load(inputs);
        const joined = await loadJoined();
        if (full.release.state !== 'rolling' || full.release.stageStartedAt === null) {
          await w.t.services.controller.tick();
          continue;
        }
        expect(kept.reports).toEqual([]);
        expect(kept.measures).toBeDefined();
        expect(full.measures).toBeUndefined();
        const now = w.clock.now();
        expect(evaluateStageGates(kept, now)).toEqual(evaluateStageGates(full, now));
        expect(stageRefusals(kept, kept.release)).toEqual(stageRefusals(full, full.release));
        expect(withoutContext(decide(kept, now))).toEqual(withoutContext(decide(full, now)));
        expect(joined.measures).toEqual(kept.measures);
        expect(withoutContext(decide(joined, now))).toEqual(withoutContext(decide(full, now)));
        measuredTicks += 1;
      }
      expect(measuredTicks).toBeGreaterThan(3);
    });
  });
}
