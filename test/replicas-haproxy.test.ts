import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createAgent } from '@lockgate/agent';
import type { Agent } from '@lockgate/agent';
import type { ReleaseView } from '../packages/server/src/features/releases/release-service.ts';
import { makePack, newSigner } from '../packages/server/test/helpers/packs.ts';
import {
  agentRound,
  apiOf,
  eventually,
  PROCESS_ADMIN_TOKEN,
  pushPack,
  QUICK_ERROR_GATE,
  releaseCalls,
  simulatedAgents,
  startReplica,
} from '../packages/server/test/helpers/server-process.ts';
import type { ServerProcess } from '../packages/server/test/helpers/server-process.ts';
import { DIALECTS, describeDialect } from '../packages/server/test/helpers/test-database.ts';
import type { TestDatabase } from '../packages/server/test/helpers/test-database.ts';

/**
 * Issue 13 item 7: three server replicas on one PostgreSQL behind HAProxy, configured with the
 * shipped ops/replicas/haproxy.cfg (only its addresses changed). Agents (the agent library, with
 * short intervals) and simulated reporters talk to the balancer only. Two staged releases run;
 * during the first a replica that does not hold the controller lease is killed (kill -9), then
 * started again; during the second the lease holder is killed. Each release completes, every
 * target ends on its pack, and every report answered 202 is stored.
 */

const HAS_HAPROXY = spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).status === 0;
const HAPROXY_CONFIG = new URL('../ops/replicas/haproxy.cfg', import.meta.url);
/** Bounds, never assertions on time. */
const SETTLE_MS = 90_000;

const STAGES = [
  { name: 'half', percent: 50, soakSeconds: 1, gates: [QUICK_ERROR_GATE] },
  { name: 'three-quarters', percent: 75, soakSeconds: 1, gates: [QUICK_ERROR_GATE] },
  { name: 'all', percent: 100, soakSeconds: 1, gates: [QUICK_ERROR_GATE] },
];
const AGENTS = Array.from({ length: 4 }, (_, i) => `agent-${i}`);
const REPORTERS = Array.from({ length: 16 }, (_, i) => `reporter-${i}`);

const postgres = DIALECTS.filter((dialect) => dialect.name === 'postgres');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/** The shipped HAProxy configuration with this test's listen address and replica ports. */
async function haproxyConfig(listen: number, replicas: readonly number[]): Promise<string> {
  const shipped = await readFile(HAPROXY_CONFIG, 'utf8');
  const servers = replicas.map((port) => `    server lockgate-${port} 127.0.0.1:${port}`);
  const lines = shipped.split('\n').filter((line) => !/^\s+server lockgate-/.test(line));
  const text = lines
    .map((line) => (/^\s+bind :7070$/.test(line) ? `    bind 127.0.0.1:${listen}` : line))
    .join('\n');
  if (text === lines.join('\n')) throw new Error('ops/replicas/haproxy.cfg has no "bind :7070"');
  return `${text.trimEnd()}\n${servers.join('\n')}\n`;
}

/**
 * Simulated reporters through the balancer: each asks what to run, runs it, and reports healthy
 * traffic with a number of its own (signals.report_seq). `accepted` holds every number a 202
 * answered; failed calls (a replica killed mid-request) are retried on the next round.
 */
function reporters(url: string, ids: readonly string[]) {
  const accepted = new Map<string, number[]>(ids.map((id) => [id, []]));
  const agents = simulatedAgents();
  const api = apiOf(() => url);
  let seq = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await Promise.all(
        ids.map(async (id) => {
          seq += 1;
          const mine = seq;
          try {
            const health = { requests: 20, errors: 0, signals: { report_seq: mine } };
            const answer = await agentRound(api, agents, id, health);
            if (answer.status === 202) accepted.get(id)?.push(mine);
          } catch {
            // The replica went away mid-request: the next round asks again.
          }
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  })();
  return {
    accepted,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

for (const dialect of postgres) {
  describeDialect(dialect, 'three replicas on one PostgreSQL behind HAProxy', () => {
    let testDatabase: TestDatabase;
    let dir = '';
    const servers = new Map<number, ServerProcess>();
    let haproxy: ChildProcess | null = null;
    let haproxyOutput = '';
    const agents: Agent[] = [];
    let fleet: { stop(): Promise<void> } | null = null;

    beforeEach(async () => {
      testDatabase = await dialect.create();
      dir = await mkdtemp(join(tmpdir(), 'lockgate-replicas-'));
    });

    afterEach(async () => {
      await fleet?.stop();
      fleet = null;
      await Promise.all(agents.splice(0).map((agent) => agent.stop()));
      if (haproxy !== null && haproxy.exitCode === null) {
        const exited = new Promise((resolve) => haproxy?.once('exit', resolve));
        haproxy.kill('SIGKILL');
        await exited;
      }
      haproxy = null;
      await Promise.all([...servers.values()].map((server) => server.kill()));
      servers.clear();
      await testDatabase.dispose();
      await rm(dir, { recursive: true, force: true });
    });

    it.skipIf(!HAS_HAPROXY && process.env['CI'] !== 'true')(
      'finishes releases, keeps every agent on its pack and loses no report when a replica is killed',
      async () => {
        const ports = await Promise.all([freePort(), freePort(), freePort()]);
        const start = async (port: number): Promise<ServerProcess> => {
          const server = await startReplica(
            testDatabase,
            '--port',
            String(port),
            '--controller-interval',
            '100',
          );
          servers.set(port, server);
          return server;
        };
        await Promise.all(ports.map(start));

        const listen = await freePort();
        const config = join(dir, 'haproxy.cfg');
        await writeFile(config, await haproxyConfig(listen, ports));
        const check = spawnSync('haproxy', ['-c', '-f', config], { encoding: 'utf8' });
        expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
        haproxy = spawn('haproxy', ['-db', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
        haproxy.stdout?.on('data', (chunk: Buffer) => (haproxyOutput += chunk.toString('utf8')));
        haproxy.stderr?.on('data', (chunk: Buffer) => (haproxyOutput += chunk.toString('utf8')));
        const url = `http://127.0.0.1:${listen}`;
        await eventually('the balancer to answer', 20_000, async () => {
          if (haproxy?.exitCode !== null) throw new Error(`haproxy exited:\n${haproxyOutput}`);
          const response = await fetch(`${url}/healthz`);
          return response.status === 200 ? true : null;
        });
        const api = apiOf(() => url);

        // Everything below goes through the balancer.
        const signer = newSigner();
        expect(
          (await api('POST', '/trust/keys', { publicKeyPem: signer.publicKeyPem })).status,
        ).toBeLessThan(300);
        const packs = await Promise.all(
          ['1.0.0', '2.0.0', '3.0.0'].map((version, i) =>
            makePack({ signer, version, sequence: i + 1, buildId: `b${i + 1}` }),
          ),
        );
        const [v1, v2, v3] = packs;
        if (v1 === undefined || v2 === undefined || v3 === undefined) throw new Error('packs');
        for (const pack of packs) await pushPack(url, pack);
        await api('PUT', '/environments/prod', {});
        await api('PUT', '/environments/prod/channels/stable', {});
        await api('PUT', '/plans/instant', {
          stages: [{ name: 'all', percent: 100, soakSeconds: 0, gates: [] }],
        });
        await api('PUT', '/plans/staged', { stages: STAGES });
        for (const id of REPORTERS) {
          await api('PUT', `/targets/${id}`, { env: 'prod', channel: 'stable', labels: {} });
        }
        const keys = await api<{ items: { publicKeyPem: string }[] }>('GET', '/server/keys');
        const serverKeys = keys.body.items.map((key) => key.publicKeyPem);
        expect(serverKeys.length).toBeGreaterThan(0);

        for (const id of AGENTS) {
          const agent = createAgent({
            server: url,
            token: PROCESS_ADMIN_TOKEN,
            targetId: id,
            env: 'prod',
            channel: 'stable',
            dir: join(dir, id),
            trustedServerKeys: serverKeys,
            trustedBuildKeys: [signer.publicKeyPem],
            healthCheck: { cmd: 'true' },
            pollIntervalMs: 1000,
            reportIntervalMs: 500,
            healthIntervalMs: 100,
            trialPasses: 2,
            trialMs: 30_000,
            requestTimeoutMs: 5000,
            reconnectMinMs: 100,
            reconnectMaxMs: 1000,
          });
          agents.push(agent);
          await agent.start();
        }
        const fleetOf = reporters(url, REPORTERS);
        fleet = fleetOf;

        const { create: release, stateOf } = releaseCalls(api, 'replicas test');
        const completed = (id: string): Promise<ReleaseView> =>
          eventually(`release ${id} to complete`, SETTLE_MS, async () => {
            const current = await stateOf(id);
            if (['rolled_back', 'aborted', 'failed'].includes(current.state)) {
              throw new Error(`release ${id} ended ${current.state}`);
            }
            return current.state === 'completed' ? current : null;
          });
        const rolling = (id: string): Promise<ReleaseView> =>
          eventually(`release ${id} to roll`, SETTLE_MS, async () => {
            const current = await stateOf(id);
            return current.state === 'rolling' ? current : null;
          });
        // Every target (agents and reporters) reports running `pack`.
        const everyoneOn = (pack: string): Promise<true> =>
          eventually(`every target to run ${pack}`, SETTLE_MS, async () => {
            const listed = await api<{ items: { id: string; activePack: string | null }[] }>(
              'GET',
              '/targets?env=prod&channel=stable&limit=1000',
            );
            const active = new Map(listed.body.items.map((t) => [t.id, t.activePack]));
            return [...AGENTS, ...REPORTERS].every((id) => active.get(id) === pack) ? true : null;
          });
        /** The pid of the replica holding the controller lease (its advisory lock's session). */
        const holderPid = async (): Promise<number> =>
          eventually('a lease holder', SETTLE_MS, async () => {
            const { rows } = await sql<{ name: string }>`
              select a.application_name as name from pg_locks l
              join pg_stat_activity a on a.pid = l.pid
              where l.locktype = 'advisory' and l.granted
                and a.application_name like 'lockgate-controller %'`.execute(
              testDatabase.database.db,
            );
            if (rows.length !== 1) return null;
            const pid = Number(rows[0]?.name.split(':').at(-2));
            return [...servers.values()].some((s) => s.pid === pid) ? pid : null;
          });
        const portOf = (pid: number): number => {
          const found = [...servers.entries()].find(([, s]) => s.pid === pid);
          if (found === undefined) throw new Error(`no replica has pid ${pid}`);
          return found[0];
        };

        const baseline = await release(v1.digest, 'instant');
        await completed(baseline);
        await everyoneOn(v1.digest);

        // 1. Kill a replica that does not hold the lease, mid-rollout; start it again.
        const second = await release(v2.digest, 'staged');
        await rolling(second);
        const leader = await holderPid();
        const victimPort = ports.find((port) => servers.get(port)?.pid !== leader);
        if (victimPort === undefined) throw new Error('no non-holder');
        await servers.get(victimPort)?.kill();
        servers.delete(victimPort);
        expect((await completed(second)).stageIndex).toBe(STAGES.length - 1);
        expect(await holderPid()).toBe(leader);
        await everyoneOn(v2.digest);
        await start(victimPort);

        // 2. Kill the lease holder mid-rollout: another replica takes the lease and finishes.
        const third = await release(v3.digest, 'staged');
        await rolling(third);
        const holder = await holderPid();
        const holderPort = portOf(holder);
        await servers.get(holderPort)?.kill();
        servers.delete(holderPort);
        const done = await completed(third);
        expect(done.stageIndex).toBe(STAGES.length - 1);
        const successor = await holderPid();
        expect(successor).not.toBe(holder);
        await everyoneOn(v3.digest);
        for (const agent of agents) {
          expect(agent.status().state).toMatchObject({ active: v3.digest });
        }

        // Nothing lost: every report a replica answered 202 is stored.
        await fleetOf.stop();
        fleet = null;
        const { rows } = await sql<{ target_id: string; health_json: string | null }>`
          select target_id, health_json from target_reports`.execute(testDatabase.database.db);
        const stored = new Map<string, Set<number>>();
        for (const row of rows) {
          const seq = (JSON.parse(row.health_json ?? '{}') as { signals?: Record<string, number> })
            .signals?.['report_seq'];
          if (seq === undefined) continue;
          const set = stored.get(row.target_id) ?? new Set<number>();
          set.add(seq);
          stored.set(row.target_id, set);
        }
        let acceptedCount = 0;
        for (const [id, numbers] of fleetOf.accepted) {
          acceptedCount += numbers.length;
          const missing = numbers.filter((n) => stored.get(id)?.has(n) !== true);
          expect(missing, `reports of ${id} answered 202 but not stored`).toEqual([]);
        }
        expect(acceptedCount).toBeGreaterThan(REPORTERS.length * 10);
        expect(haproxyOutput).not.toMatch(/ALERT/);
      },
      240_000,
    );
  });
}
