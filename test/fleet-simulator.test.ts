import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_SCENARIO } from '../bench/fleet/fleet-bench.ts';
import { loadScenario, runScenario } from '../bench/fleet/scenario.ts';
import { startLockgate } from '../bench/lib/processes.ts';
import type { LockgateProcess } from '../bench/lib/processes.ts';

const AGENTS = 2000;
/** SSE streams shared by the agents, and the report interval: cheap enough for 2 cores in CI. */
const STREAMS = 40;
const REPORT_INTERVAL_MS = 2000;

/** PostgreSQL runs when CI=true or LOCKGATE_TEST_POSTGRES_URL is set, as the store suites do. */
function postgresUrl(): string | null {
  const url = process.env['LOCKGATE_TEST_POSTGRES_URL'];
  if (url !== undefined && url !== '') return url;
  return process.env['CI'] === 'true' ? 'postgres://postgres@127.0.0.1:5432/postgres' : null;
}

const DATABASES = [
  { name: 'SQLite', url: null as string | null, skip: false },
  { name: 'PostgreSQL', url: postgresUrl(), skip: postgresUrl() === null },
];

for (const database of DATABASES) {
  describe.skipIf(database.skip)(
    `the fleet simulator against a server process (${database.name})`,
    () => {
      let server: LockgateProcess | null = null;

      afterEach(async () => {
        await server?.stop();
        server = null;
      });

      it(`takes ${AGENTS} agents through a canary to 100%, then rolls a failing canary back, each agent running only packs a verified index allows`, async () => {
        server = await startLockgate({
          ...(database.url === null ? {} : { postgresUrl: database.url }),
          logLevel: 'warn',
          controllerIntervalMs: 100,
        });
        const scenario = await loadScenario(DEFAULT_SCENARIO);
        scenario.streams = STREAMS;
        scenario.reportIntervalMs = REPORT_INTERVAL_MS;
        const result = await runScenario({
          server,
          adminToken: server.adminToken,
          agents: AGENTS,
          scenario,
          timeoutMs: 120_000,
        });
        const pack = (version: string): string => {
          const digest = result.packs.get(version);
          if (digest === undefined) throw new Error(`no pack ${version}`);
          return digest;
        };
        // v1 to everyone, v2 through its canary to everyone, v3 rolled back: everyone on v2.
        expect(result.steps.map((step) => [step.release, step.state, step.counts])).toEqual([
          ['1.0.0', 'completed', new Map([[pack('1.0.0'), AGENTS]])],
          ['2.0.0', 'completed', new Map([[pack('2.0.0'), AGENTS]])],
          ['3.0.0', 'rolled_back', new Map([[pack('2.0.0'), AGENTS]])],
        ]);
        // Every agent ran v1 and v2; v3 reached its canary only; no agent ran anything else, and
        // no desired answer went unbacked by the signed index the agent verified.
        expect(result.refusals).toBe(0);
        expect([...result.ran.keys()].sort()).toEqual(
          [pack('1.0.0'), pack('2.0.0'), pack('3.0.0')].sort(),
        );
        expect(result.ran.get(pack('1.0.0'))).toBe(AGENTS);
        expect(result.ran.get(pack('2.0.0'))).toBe(AGENTS);
        const canary = result.ran.get(pack('3.0.0')) ?? 0;
        expect(canary).toBeGreaterThan(0);
        expect(canary).toBeLessThan(AGENTS / 2);
        expect(result.failures).toBe(0);
        const v3 = result.releases.get('3.0.0') ?? '';
        const timeline = await fetch(`${server.url}/api/v1/releases/${v3}/timeline`, {
          headers: { authorization: `Bearer ${server.adminToken}` },
        });
        const text = await timeline.text();
        expect(timeline.status).toBe(200);
        expect(text).toContain('gate.failed');
      }, 400_000);
    },
  );
}
