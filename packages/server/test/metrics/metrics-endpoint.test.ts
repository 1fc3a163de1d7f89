import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadServerConfig } from '../../src/config.ts';
import {
  codeLabel,
  createMetricsService,
  SILENT_AFTER_SECONDS,
} from '../../src/features/metrics/metrics-service.ts';
import { DIALECTS, describeDialect } from '../helpers/test-database.ts';
import {
  baseline,
  createChannel,
  createRelease,
  createWorld,
  Fleet,
  getRelease,
  putPlan,
  simulatedTargets,
} from '../helpers/release-world.ts';
import type { World } from '../helpers/release-world.ts';

const ERROR_GATE = {
  metric: 'error_rate',
  op: '<=',
  threshold: 0.05,
  windowSeconds: 300,
  minTargets: 1,
  minSamples: 50,
};

/** The value of one sample line `name{labels} value`, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function scrape(w: World, headers: Record<string, string> = {}, remoteAddress?: string) {
  return w.t.app.inject({
    method: 'GET',
    url: '/metrics',
    headers,
    ...(remoteAddress === undefined ? {} : { remoteAddress }),
  });
}

for (const dialect of DIALECTS) {
  describeDialect(dialect, 'GET /metrics', () => {
    let w: World;
    let fleet: Fleet;

    beforeEach(async () => {
      w = await createWorld(dialect);
      await createChannel(w);
      fleet = new Fleet(w, simulatedTargets(20));
      await fleet.register();
      await baseline(w, w.packs.v1);
      await fleet.step();
    });

    afterEach(async () => {
      await w.close();
    });

    it('counts a gate-failed rollback, its stage, the activations and the drift, without target ids', async () => {
      await putPlan(w, 'two', [
        { name: 'canary', percent: 25, soakSeconds: 600, gates: [ERROR_GATE] },
        { name: 'all', percent: 100, soakSeconds: 600, gates: [ERROR_GATE] },
      ]);
      const created = await createRelease(w, { pack: w.packs.v3.digest, plan: 'two' });
      await w.t.services.controller.tick();
      w.clock.advance(30);
      await fleet.step((_id, pack) => (pack === w.packs.v3.digest ? 0.2 : 0));
      w.clock.advance(30);
      await w.t.services.controller.tick();
      expect((await getRelease(w, created.id)).state).toBe('rolled_back');

      const before = await scrape(w);
      expect(before.statusCode).toBe(200);
      expect(before.headers['content-type']).toContain('text/plain');
      const text = before.body;
      expect(sample(text, 'lockgate_rollbacks_total{trigger="gate.failed"}')).toBe(1);
      expect(sample(text, 'lockgate_releases{state="rolled_back"}')).toBe(1);
      expect(sample(text, 'lockgate_releases{state="completed"}')).toBe(1);
      expect(
        sample(text, 'lockgate_release_stage_duration_seconds_count{outcome="rolled_back"}'),
      ).toBe(1);
      expect(
        sample(text, 'lockgate_agent_activations_total{result="ok",code="OK"}'),
      ).toBeGreaterThan(20);
      // canary targets still run v3 until they poll again: drift on the channel
      const drift = sample(text, 'lockgate_channel_drift_targets{env="prod-eu",channel="stable"}');
      expect(drift).toBeGreaterThan(0);
      expect(sample(text, 'lockgate_channel_targets{env="prod-eu",channel="stable"}')).toBe(20);
      expect(sample(text, 'lockgate_decision_log_records')).toBeGreaterThan(3);
      expect(sample(text, 'lockgate_agent_time_to_activate_seconds_count')).toBeGreaterThan(0);
      expect(sample(text, 'lockgate_controller_leader')).toBe(1);
      expect(text).not.toMatch(/t-0\d\d/);
      expect(text).toMatch(
        /lockgate_http_requests_total\{method="POST",route="\/api\/v1\/targets\/:id\/reports",status_code="202"\} \d+/,
      );

      // the fleet goes back: drift gone, time to restore observed once
      w.clock.advance(10);
      await fleet.step();
      const after = (await scrape(w)).body;
      expect(sample(after, 'lockgate_channel_drift_targets{env="prod-eu",channel="stable"}')).toBe(
        0,
      );
      expect(sample(after, 'lockgate_rollback_time_to_restore_seconds_count')).toBe(1);
      // the log is followed, not re-counted
      expect(sample(after, 'lockgate_rollbacks_total{trigger="gate.failed"}')).toBe(1);
    });

    it('counts drift target by target while a partial stage runs, and the silent targets', async () => {
      await putPlan(w, 'quarter', [
        { name: 'canary', percent: 25, soakSeconds: 600, gates: [] },
        { name: 'all', percent: 100, soakSeconds: 600, gates: [] },
      ]);
      await createRelease(w, { pack: w.packs.v3.digest, plan: 'quarter' });
      await w.t.services.controller.tick();
      await fleet.poll();
      const canary = [...fleet.desired.values()].filter((d) => d.pack === w.packs.v3.digest);
      expect(canary.length).toBeGreaterThan(0);
      expect(canary.length).toBeLessThan(20);
      const series = '{env="prod-eu",channel="stable"}';
      const started = (await scrape(w)).body;
      expect(sample(started, `lockgate_channel_drift_targets${series}`)).toBe(canary.length);
      expect(sample(started, `lockgate_channel_silent_targets${series}`)).toBe(0);

      await fleet.step();
      const moved = (await scrape(w)).body;
      expect(sample(moved, `lockgate_channel_drift_targets${series}`)).toBe(0);

      w.clock.advance(SILENT_AFTER_SECONDS + 1);
      const quiet = (await scrape(w)).body;
      expect(sample(quiet, `lockgate_channel_silent_targets${series}`)).toBe(20);
      expect(sample(quiet, `lockgate_channel_targets${series}`)).toBe(20);
    });

    it('times a whole fleet activating at once with a few reads, not two per report', async () => {
      await putPlan(w, 'quarter', [
        { name: 'canary', percent: 25, soakSeconds: 600, gates: [] },
        { name: 'all', percent: 100, soakSeconds: 600, gates: [] },
      ]);
      await createRelease(w, { pack: w.packs.v3.digest, plan: 'quarter' });
      await w.t.services.controller.tick();
      let reads = 0;
      const counted = {
        ...w.t.stores,
        channels: {
          ...w.t.stores.channels,
          find: (env: string, name: string) => {
            reads += 1;
            return w.t.stores.channels.find(env, name);
          },
        },
      };
      let failed: unknown = null;
      const metrics = createMetricsService({
        stores: counted,
        clock: w.clock.clock,
        onError: (error) => {
          failed = error;
        },
      });
      w.clock.advance(5);
      const at = w.clock.now().toISOString();
      const activation = (pack: string) => ({
        env: 'prod-eu',
        channel: 'stable',
        previous: null,
        activePack: pack,
        attempt: { kind: 'activate' as const, pack, result: 'ok' as const, at },
      });
      const reports = 5000;
      for (let i = 0; i < reports; i++) metrics.observeReport(activation(w.packs.v3.digest));
      // another pack than the rolling release's is not timed
      metrics.observeReport(activation(w.packs.v1.digest));
      await expect
        .poll(async () =>
          sample(await metrics.render(), 'lockgate_agent_time_to_activate_seconds_count'),
        )
        .toBe(reports);
      const text = await metrics.render();
      expect(sample(text, 'lockgate_agent_time_to_activate_seconds_sum')).toBe(reports * 5);
      expect(failed).toBeNull();
      // the scrape itself reads each channel once per render
      expect(reads).toBeLessThanOrEqual(10);
    });

    it('counts a verification failure by code once however often the target repeats it', async () => {
      const report = {
        activePack: w.packs.v1.digest,
        lastAttempt: {
          kind: 'verify',
          pack: w.packs.v2.digest,
          result: 'failed',
          code: 'PACK_DIGEST_MISMATCH',
          at: '2026-03-02T08:00:05.000Z',
        },
      };
      for (let i = 0; i < 3; i += 1) {
        expect((await w.call('POST', '/targets/t-000/reports', report)).status).toBe(202);
      }
      const text = (await scrape(w)).body;
      expect(
        sample(
          text,
          'lockgate_agent_verifications_total{result="failed",code="PACK_DIGEST_MISMATCH"}',
        ),
      ).toBe(1);
      expect(
        sample(text, 'lockgate_agent_pack_fetch_failures_total{code="PACK_DIGEST_MISMATCH"}'),
      ).toBe(1);
    });

    it('tells how long the newest records have waited for a signed checkpoint', async () => {
      const first = await scrape(w);
      const records = sample(first.body, 'lockgate_decision_log_records') ?? 0;
      expect(records).toBeGreaterThan(0);
      // no checkpoint yet: the age runs from the first record
      expect(sample(first.body, 'lockgate_log_checkpoint_records')).toBe(0);
      const waited = sample(first.body, 'lockgate_log_checkpoint_age_seconds') ?? 0;
      w.clock.advance(600);
      const later = await scrape(w);
      expect(sample(later.body, 'lockgate_log_checkpoint_age_seconds')).toBe(waited + 600);

      // the operations jobs sign one covering every record
      await w.t.services.operations.runOnce();
      const signed = await scrape(w);
      const size = sample(signed.body, 'lockgate_decision_log_records');
      expect(sample(signed.body, 'lockgate_log_checkpoint_records')).toBe(size);
      expect(sample(signed.body, 'lockgate_log_checkpoint_age_seconds')).toBe(0);
      w.clock.advance(90);
      expect(sample((await scrape(w)).body, 'lockgate_log_checkpoint_age_seconds')).toBe(90);
    });

    it('is open on loopback and asks others for an admin or operator token', async () => {
      expect((await scrape(w, {}, '10.1.2.3')).statusCode).toBe(401);
      expect(
        (await scrape(w, { authorization: 'Bearer nope-nope-nope-nope' }, '10.1.2.3')).statusCode,
      ).toBe(401);
      expect((await scrape(w, w.t.auth, '10.1.2.3')).statusCode).toBe(200);
      expect((await scrape(w, {}, '::ffff:127.0.0.1')).statusCode).toBe(200);
    });
  });
}

describe('metrics configuration', () => {
  it('defaults to loopback access and no Prometheus, and refuses unknown values', () => {
    const config = loadServerConfig({}, {});
    expect(config).toMatchObject({ metricsAccess: 'loopback', prometheusUrl: null });
    expect(
      loadServerConfig(
        {},
        { LOCKGATE_METRICS_ACCESS: 'token', LOCKGATE_PROMETHEUS_URL: 'http://p:9090/' },
      ),
    ).toMatchObject({ metricsAccess: 'token', prometheusUrl: 'http://p:9090' });
    expect(() => loadServerConfig({ metricsAccess: 'public' }, {})).toThrow(/metrics access/);
    expect(() => loadServerConfig({ prometheusUrl: 'ftp://x' }, {})).toThrow(/Prometheus URL/);
  });

  it('keeps label values bounded: unknown codes are OTHER', () => {
    expect(codeLabel(undefined)).toBe('OK');
    expect(codeLabel('PACK_REVOKED')).toBe('PACK_REVOKED');
    expect(codeLabel('HEALTH_CHECK_FAILED')).toBe('HEALTH_CHECK_FAILED');
    expect(codeLabel('t-000-made-up')).toBe('OTHER');
  });
});
