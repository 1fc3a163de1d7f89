import { sql } from 'kysely';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { apiOf, eventually, startReplica } from './helpers/server-process.ts';
import type { ServerProcess } from './helpers/server-process.ts';
import { DIALECTS, describeDialect } from './helpers/test-database.ts';
import type { TestDatabase } from './helpers/test-database.ts';

const postgres = DIALECTS.filter((dialect) => dialect.name === 'postgres');

for (const dialect of postgres) {
  describeDialect(dialect, 'a token revoked on one server process', () => {
    let testDatabase: TestDatabase;
    const processes: ServerProcess[] = [];

    beforeEach(async () => {
      testDatabase = await dialect.create();
    });

    afterEach(async () => {
      await Promise.all(processes.splice(0).map((p) => p.kill()));
      await testDatabase.dispose();
    });

    it('is refused by another process on the first request after the revoke returns', async () => {
      const start = async (): Promise<ServerProcess> => {
        const server = await startReplica(testDatabase);
        processes.push(server);
        return server;
      };
      const [one, two] = await Promise.all([start(), start()]);
      if (one === undefined || two === undefined) throw new Error('servers');
      // Both listen (LISTEN ran on each one's feed connection) before anything changes.
      await eventually('both processes to listen', 10_000, async () => {
        const { rows } = await sql<{ n: string }>`
          select count(*) as n from pg_stat_activity
          where datname = current_database() and application_name like 'lockgate-changes %'
            and state = 'idle'`.execute(testDatabase.database.db);
        return Number(rows[0]?.n) >= 2 ? true : null;
      });

      const created = await apiOf(() => one.url)<{ secret: string }>('POST', '/tokens', {
        name: 'reader',
        role: 'viewer',
      });
      expect(created.status).toBe(201);
      const read = async (): Promise<number> =>
        (
          await fetch(`${two.url}/api/v1/environments`, {
            headers: { authorization: `Bearer ${created.body.secret}` },
            signal: AbortSignal.timeout(10_000),
          })
        ).status;
      // The second process knows the token and keeps it in memory.
      expect(await read()).toBe(200);
      expect(await read()).toBe(200);

      const revoked = await apiOf(() => one.url)('DELETE', '/tokens/reader');
      expect(revoked.status).toBe(200);
      expect(await read()).toBe(401);
    }, 60_000);
  });
}
