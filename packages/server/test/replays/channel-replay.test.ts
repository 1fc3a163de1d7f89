import { brotliCompressSync } from 'node:zlib';
import { canonicalBytes, replayRecords } from '@lockgate/core';
import type { ReplayContext } from '@lockgate/core';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { DecisionRecord } from '../../src/features/decisions/decision-store.ts';
import { CHANNEL, createChannel, createWorld, ENV } from '../helpers/release-world.ts';
import type { World } from '../helpers/release-world.ts';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';

const CHANNEL_URL = `/environments/${ENV}/channels/${CHANNEL}`;

/** Every channel-only record (no release) of the log, with the contexts they name as stored. */
async function channelRecords(
  w: World,
): Promise<{ records: DecisionRecord[]; contexts: Map<string, ReplayContext> }> {
  const all = await w.t.stores.decisions.list({ limit: 10_000 });
  const records = all.filter((r) => r.release === null && r.env !== null);
  const contexts = new Map<string, ReplayContext>();
  for (const record of all) {
    const digest = record.inputs['context'];
    if (typeof digest !== 'string' || contexts.has(digest)) continue;
    const stored = await w.t.stores.contexts.get(digest);
    if (stored !== null) contexts.set(digest, { context: stored.context, intact: stored.intact });
  }
  return { records, contexts };
}

/** Pins, clears, lapses, configures, authorizes, revokes: one of each channel-only decision. */
async function channelDecisions(w: World): Promise<void> {
  const expect2xx = (answer: { status: number; body: unknown }): void => {
    if (answer.status >= 300) throw new Error(JSON.stringify(answer.body));
  };
  expect2xx(await w.call('PUT', CHANNEL_URL, { floor: 2, reason: 'no going back' }));
  expect2xx(
    await w.call('PUT', `${CHANNEL_URL}/pins/_`, {
      pack: w.packs.v2.digest,
      reason: 'hold on v2',
      expiresIn: '2h',
    }),
  );
  expect2xx(await w.call('DELETE', `${CHANNEL_URL}/pins/_`, { reason: 'released' }));
  expect2xx(
    await w.call('PUT', `${CHANNEL_URL}/pins/_`, {
      pack: w.packs.v2.digest,
      reason: 'hold for an hour',
      expiresIn: '1h',
    }),
  );
  w.clock.advance(2 * 3600);
  await w.t.services.controller.tick(); // the pin lapses
  const granted = await w.call<{ rollbackAuthorization: { id: string } }>(
    'POST',
    `${CHANNEL_URL}/rollback-authorizations`,
    { pack: w.packs.v1.digest, reason: 'incident 7', expiresIn: '24h' },
  );
  expect2xx(granted);
  expect2xx(
    await w.call(
      'DELETE',
      `${CHANNEL_URL}/rollback-authorizations/${granted.body.rollbackAuthorization.id}`,
      { reason: 'not needed' },
    ),
  );
  expect2xx(await w.call('POST', `/packs/${w.packs.v3.digest}/revoke`, { reason: 'leaks' }));
}

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'replay of channel-only decisions', () => {
    let w: World;

    beforeEach(async () => {
      w = await createWorld(dialect);
      await createChannel(w);
      await channelDecisions(w);
    });

    afterEach(async () => {
      await w.close();
    });

    it('stores the core call of every channel decision and replays each to its digest', async () => {
      const { records, contexts } = await channelRecords(w);
      const rules = records.map((r) => r.rule);
      for (const rule of [
        'channel.created',
        'channel.updated',
        'pin.set',
        'pin.cleared',
        'pin.expired',
        'rollback_authorization.granted',
        'rollback_authorization.revoked',
      ]) {
        expect(rules, rule).toContain(rule);
      }
      // every one names a stored context: nothing is left out of the replay
      expect(records.every((r) => contexts.has(r.inputs['context'] as string))).toBe(true);
      const revocations = (await w.t.stores.decisions.list({ limit: 10_000 })).filter(
        (r) => r.rule === 'pack.revoked',
      );
      expect(revocations).toHaveLength(1);
      const replayed = replayRecords([...records, ...revocations], (d) => contexts.get(d) ?? null);
      expect(replayed).toMatchObject({
        total: records.length + 1,
        matching: records.length + 1,
        mismatches: 0,
        matchRate: 1,
        skipped: [],
      });
    });

    it('keeps each call as plain JSON under the digest of its JCS bytes', async () => {
      const created = (await w.t.stores.decisions.list({ limit: 10 })).find(
        (r) => r.rule === 'channel.created',
      );
      const stored = await w.t.stores.contexts.get(created?.inputs['context'] as string);
      expect(stored).toMatchObject({
        intact: true,
        context: { schema: 'lockgate.channel-call/v1', fn: 'createChannel' },
      });
    });

    it('names the field when a stored channel call was changed', async () => {
      const { records, contexts } = await channelRecords(w);
      const pin = records.find((r) => r.rule === 'pin.set');
      const digest = pin?.inputs['context'] as string;
      const stored = contexts.get(digest)?.context as { event: { reason: string } };
      stored.event.reason = 'a different reason';
      // the row in the database is edited the same way
      const { db } = w.t.testDatabase.database;
      const body = brotliCompressSync(canonicalBytes(stored)).toString('base64');
      await db
        .updateTable('decision_contexts')
        .set({ body })
        .where('digest', '=', digest)
        .execute();
      const reread = await w.t.stores.contexts.get(digest);
      expect(reread?.intact).toBe(false);
      const replayed = replayRecords(records, (d) =>
        d === digest ? { context: reread?.context, intact: false } : (contexts.get(d) ?? null),
      );
      expect(replayed.mismatches).toBe(1);
      expect(replayed.mismatched[0]).toMatchObject({
        seq: pin?.seq,
        rule: 'pin.set',
        problem: 'field',
        field: 'reason',
        expected: 'hold on v2',
        actual: 'a different reason',
        contextIntact: false,
      });
    });
  });
}
