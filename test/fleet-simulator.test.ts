import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_SCENARIO } from '../bench/fleet/fleet-bench.ts';
import { loadScenario, runScenario } from '../bench/fleet/scenario.ts';
import { startLockgate } from '../bench/lib/processes.ts';
import type { LockgateProcess } from '../bench/lib/processes.ts';

const AGENTS = 200;

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

      it(`takes ${AGENTS} agents through a canary to 100%, then rolls a failing canary back`, async () => {
        server = await startLockgate({
          ...(database.url === null ? {} : { postgresUrl: database.url }),
          logLevel: 'warn',
          controllerIntervalMs: 100,
        });
        const scenario = await loadScenario(DEFAULT_SCENARIO);
        const result = await runScenario({
          server,
          adminToken: server.adminToken,
          agents: AGENTS,
          scenario,
          timeoutMs: 90_000,
        });
        // runScenario waits for each release's state and for every agent to run the pack the
        // step names; a different final state or a fleet that does not converge throws.
        expect(result.steps.map((step) => [step.release, step.state])).toEqual([
          ['1.0.0', 'completed'],
          ['2.0.0', 'completed'],
          ['3.0.0', 'rolled_back'],
        ]);
        expect(result.failures).toBe(0);
        const v3 = result.releases.get('3.0.0') ?? '';
        const timeline = await fetch(`${server.url}/api/v1/releases/${v3}/timeline`, {
          headers: { authorization: `Bearer ${server.adminToken}` },
        });
        const text = await timeline.text();
        expect(timeline.status).toBe(200);
        expect(text).toContain('gate.failed');
      }, 240_000);
    },
  );
}
