import { afterEach, beforeEach, expect, it } from 'vitest';
import { verifyDecisionChain } from '../src/features/decisions/decision-log.ts';
import type { DecisionRecord } from '../src/features/decisions/decision-store.ts';
import type { ReleaseView } from '../src/features/releases/release-service.ts';
import { makePack, newSigner } from './helpers/packs.ts';
import {
  apiOf,
  eventually,
  healthyFleet,
  pushPack,
  QUICK_ERROR_GATE,
  startServerProcess,
} from './helpers/server-process.ts';
import type { ServerProcess } from './helpers/server-process.ts';
import { DIALECTS, describeDialect } from './helpers/test-database.ts';
import type { TestDatabase } from './helpers/test-database.ts';

const gate = QUICK_ERROR_GATE;
const QUICK = [
  { name: 'half', percent: 50, soakSeconds: 2, gates: [gate] },
  { name: 'all', percent: 100, soakSeconds: 2, gates: [gate] },
];
const TARGETS = Array.from({ length: 10 }, (_, i) => `crash-${i}`);

/** `host:pid:random` → pid */
const pidOf = (holder: string | null): number => Number(holder?.split(':').at(-2));

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'the controller after kill -9', () => {
    let testDatabase: TestDatabase;
    const processes: ServerProcess[] = [];
    let fleet: { stop(): Promise<void> } | null = null;

    beforeEach(async () => {
      testDatabase = await dialect.create();
    });

    afterEach(async () => {
      await fleet?.stop();
      fleet = null;
      await Promise.all(processes.splice(0).map((p) => p.kill()));
      await testDatabase.dispose();
    });

    it('resumes the release where it was on restart, with no duplicate decision and an intact hash chain', async () => {
      const { database } = testDatabase.config;
      const args = [
        '--data',
        testDatabase.dataDir,
        '--controller-interval',
        '100',
        ...(database.dialect === 'postgres' ? ['--db', database.url] : []),
      ];
      const start = async (): Promise<ServerProcess> => {
        const server = await startServerProcess(args);
        processes.push(server);
        return server;
      };
      let server = await start();
      const api = apiOf(() => server.url);

      const signer = newSigner();
      expect((await api('POST', '/trust/keys', { publicKeyPem: signer.publicKeyPem })).status).toBe(
        201,
      );
      const [v1, v2] = await Promise.all(
        [1, 2].map((n) =>
          makePack({ signer, version: `${n}.0.0`, sequence: n, buildId: `build-${n}` }),
        ),
      );
      if (v1 === undefined || v2 === undefined) throw new Error('packs');
      await pushPack(server.url, v1);
      await pushPack(server.url, v2);
      expect((await api('PUT', '/environments/prod', {})).status).toBe(201);
      expect((await api('PUT', '/environments/prod/channels/stable', {})).status).toBe(201);
      expect(
        (
          await api('PUT', '/plans/instant', {
            stages: [{ name: 'all', percent: 100, soakSeconds: 0, gates: [] }],
          })
        ).status,
      ).toBe(201);
      expect((await api('PUT', '/plans/quick', { stages: QUICK })).status).toBe(201);
      const release = async (pack: string, plan: string): Promise<string> => {
        const created = await api<{ release: ReleaseView }>('POST', '/releases', {
          env: 'prod',
          channel: 'stable',
          pack,
          plan,
          reason: `release ${pack} with ${plan}`,
        });
        expect(created.status).toBe(201);
        return created.body.release.id;
      };
      const stateOf = async (id: string): Promise<ReleaseView> =>
        (await api<{ release: ReleaseView }>('GET', `/releases/${id}`)).body.release;

      const first = await release(v1.digest, 'instant');
      await eventually('the baseline release', 20_000, async () =>
        (await stateOf(first)).state === 'completed' ? true : null,
      );
      for (const id of TARGETS) {
        const put = await api('PUT', `/targets/${id}`, {
          env: 'prod',
          channel: 'stable',
          labels: { zone: id.endsWith('1') ? 'a' : 'b' },
        });
        expect(put.status).toBe(201);
      }
      fleet = healthyFleet(() => [server.url], TARGETS, 150);

      const id = await release(v2.digest, 'quick');
      const seen = await eventually('the first stage to start', 20_000, async () => {
        const current = await stateOf(id);
        return current.state === 'rolling' && current.stageStartedAt !== null ? current : null;
      });
      const killed = server;
      await killed.kill();
      expect(seen.state).toBe('rolling');

      server = await start();
      const done = await eventually(
        'the release to complete after the restart',
        40_000,
        async () => {
          const current = await stateOf(id);
          return current.state === 'completed' ? current : null;
        },
      );
      expect(done.stageIndex).toBe(1);
      const channel = await api<{ channel: { lkg: string; base: string } }>(
        'GET',
        '/environments/prod/channels/stable',
      );
      expect(channel.body.channel).toMatchObject({ lkg: v2.digest, base: v2.digest });

      const timeline = (await api<{ items: DecisionRecord[] }>('GET', `/releases/${id}/timeline`))
        .body.items;
      const keys = timeline.map((r) => [r.kind, r.rule, r.from, r.to, r.stageIndex].join('|'));
      expect(new Set(keys).size).toBe(keys.length);
      expect(timeline.map((r) => r.rule)).toEqual([
        'release.create',
        'release.start',
        'verification.passed',
        'stage.start',
        'stage.soak_complete',
        'stage.soak_complete',
      ]);
      // Decided partly by the killed process and finished by the restarted one.
      expect(pidOf(timeline[3]?.holder ?? null)).toBe(killed.pid);
      expect(pidOf(timeline.at(-1)?.holder ?? null)).toBe(server.pid);

      const log = (await api<{ items: DecisionRecord[] }>('GET', '/decisions?limit=1000')).body
        .items;
      expect(log.length).toBeGreaterThan(timeline.length);
      expect(verifyDecisionChain(log)).toMatchObject({ ok: true, checked: log.length });
    }, 90_000);
  });
}
