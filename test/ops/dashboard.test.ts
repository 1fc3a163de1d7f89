import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePack, newSigner } from '../../packages/server/test/helpers/packs.ts';
import type { TestPack } from '../../packages/server/test/helpers/packs.ts';
import {
  apiOf,
  eventually,
  healthyFleet,
  pushPack,
  startServerProcess,
} from '../../packages/server/test/helpers/server-process.ts';
import type { ServerProcess } from '../../packages/server/test/helpers/server-process.ts';
import {
  RUN_PROMETHEUS_TESTS,
  startPrometheus,
  untilSeries,
} from '../../packages/server/test/helpers/prometheus-process.ts';
import type { PrometheusProcess } from '../../packages/server/test/helpers/prometheus-process.ts';

const DASHBOARD = fileURLToPath(
  new URL('../../ops/grafana/lockgate-dashboard.json', import.meta.url),
);

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
}

const TARGETS = ['d-0', 'd-1', 'd-2', 'd-3'];

describe.runIf(RUN_PROMETHEUS_TESTS)('the Grafana dashboard', () => {
  let dir: string;
  let server: ServerProcess;
  let prometheus: PrometheusProcess;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lockgate-dashboard-'));
    server = await startServerProcess(['--data', dir, '--controller-interval', '200ms']);
    prometheus = await startPrometheus([{ job: 'lockgate', target: new URL(server.url).host }]);
    const api = apiOf(() => server.url);
    const signer = newSigner();
    expect((await api('POST', '/trust/keys', { publicKeyPem: signer.publicKeyPem })).status).toBe(
      201,
    );
    const packs: TestPack[] = [];
    for (const n of [1, 2]) {
      const pack = await makePack({
        signer,
        version: `${n}.0.0`,
        sequence: n,
        buildId: `build-${n}`,
        files: { 'data/kb.txt': `knowledge base ${n}\n` },
      });
      await pushPack(server.url, pack);
      packs.push(pack);
    }
    await api('PUT', '/environments/prod-eu', { description: 'EU production' });
    await api('PUT', '/environments/prod-eu/channels/stable', {});
    for (const id of TARGETS) {
      await api('PUT', `/targets/${id}`, {
        env: 'prod-eu',
        channel: 'stable',
        labels: { region: 'eu' },
      });
    }
    await api('PUT', '/plans/instant', {
      stages: [{ name: 'all', percent: 100, soakSeconds: 0, gates: [] }],
    });
    await api('PUT', '/plans/slow', {
      stages: [{ name: 'all', percent: 100, soakSeconds: 3600, gates: [] }],
    });
    const fleet = healthyFleet(() => [server.url], TARGETS, 100);
    try {
      // The scripted release: v1 everywhere, then v2 rolled out and rolled back by an operator.
      const first = await api<{ release: { id: string } }>('POST', '/releases', {
        env: 'prod-eu',
        channel: 'stable',
        pack: packs[0]?.digest,
        plan: 'instant',
        reason: 'first',
      });
      await eventually('v1 completed', 20_000, async () => {
        const got = await api<{ release: { state: string } }>(
          'GET',
          `/releases/${first.body.release.id}`,
        );
        return got.body.release.state === 'completed' ? true : null;
      });
      const second = await api<{ release: { id: string } }>('POST', '/releases', {
        env: 'prod-eu',
        channel: 'stable',
        pack: packs[1]?.digest,
        plan: 'slow',
        reason: 'second',
      });
      await eventually('v2 reaches the fleet', 20_000, async () => {
        const got = await api<{ items: { activePack: string | null }[] }>(
          'GET',
          '/targets?env=prod-eu',
        );
        return got.body.items.every((t) => t.activePack === packs[1]?.digest) ? true : null;
      });
      await api('POST', '/targets/d-0/reports', {
        activePack: packs[1]?.digest,
        lastAttempt: {
          kind: 'verify',
          pack: packs[0]?.digest ?? '',
          result: 'failed',
          code: 'PACK_DIGEST_MISMATCH',
          at: new Date().toISOString(),
        },
      });
      const rolled = await api('POST', `/releases/${second.body.release.id}/rollback`, {
        reason: 'drill',
      });
      expect(rolled.status).toBeLessThan(300);
      await eventually('the fleet is back on v1', 20_000, async () => {
        const got = await api<{ items: { activePack: string | null }[] }>(
          'GET',
          '/targets?env=prod-eu',
        );
        return got.body.items.every((t) => t.activePack === packs[0]?.digest) ? true : null;
      });
      // a scrape after the restore observes time to restore; rates need two scrapes
      await untilSeries(prometheus, 'lockgate_rollback_time_to_restore_seconds_count > 0');
    } finally {
      await fleet.stop();
    }
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    await server?.kill();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('has a query for every panel, and every query returns data from a real server', async () => {
    const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as { panels: Panel[] };
    const panels = dashboard.panels.filter((p) => p.type !== 'row');
    expect(panels.length).toBeGreaterThanOrEqual(20);
    const titles = dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title);
    expect(titles).toEqual(['Fleet', 'Releases', 'Agents', 'Rollbacks', 'Controller', 'API']);
    const empty: string[] = [];
    for (const panel of panels) {
      const exprs = (panel.targets ?? []).map((t) => t.expr);
      expect(exprs.length, panel.title).toBeGreaterThan(0);
      for (const expr of exprs) {
        try {
          await untilSeries(prometheus, expr, 15_000);
        } catch {
          empty.push(`${panel.title}: ${expr}`);
        }
      }
    }
    expect(empty).toEqual([]);
  }, 300_000);
});
