import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HealthGateResult } from '@lockgate/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryPrometheus } from '../../src/features/metrics/prometheus-answers.ts';
import { DIALECTS } from '../helpers/test-database.ts';
import {
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
import {
  RUN_PROMETHEUS_TESTS,
  startPrometheus,
  untilSeries,
} from '../helpers/prometheus-process.ts';
import type { PrometheusProcess } from '../helpers/prometheus-process.ts';

const TARGETS = simulatedTargets(5);

/** A loopback exporter: one error-ratio series per target, the value set by the test. */
function startExporter(ratio: () => number): Promise<Server> {
  const server = createServer((_request, response) => {
    const lines = [
      '# HELP example_error_ratio Errors per request of an example runtime.',
      '# TYPE example_error_ratio gauge',
      ...TARGETS.map((t) => `example_error_ratio{target="${t.id}"} ${ratio()}`),
    ];
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    response.end(`${lines.join('\n')}\n`);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function gateResult(w: World, id: string): Promise<HealthGateResult | undefined> {
  return timelineOf(w, id).then((records) =>
    (records.at(-1)?.inputs['gates'] as HealthGateResult[] | undefined)?.find(
      (g) => g.provider === 'prometheus',
    ),
  );
}

const sqlite = DIALECTS[0];

describe.runIf(RUN_PROMETHEUS_TESTS && sqlite !== undefined)(
  'prometheus gates against a real Prometheus',
  () => {
    let ratio = 0.01;
    let exporter: Server;
    let prometheus: PrometheusProcess;

    beforeAll(async () => {
      exporter = await startExporter(() => ratio);
      const port = (exporter.address() as AddressInfo).port;
      prometheus = await startPrometheus([{ job: 'runtime', target: `127.0.0.1:${port}` }]);
      await untilSeries(prometheus, 'example_error_ratio');
    }, 60_000);

    afterAll(async () => {
      await prometheus?.stop();
      await new Promise((resolve) => exporter?.close(resolve));
    });

    async function rollout(query: string): Promise<{ w: World; id: string; fleet: Fleet }> {
      if (sqlite === undefined) throw new Error('no sqlite dialect');
      const w = await createWorld(sqlite, { prometheusUrl: prometheus.url });
      await createChannel(w);
      const fleet = new Fleet(w, TARGETS);
      await fleet.register();
      await baseline(w, w.packs.v1);
      await putPlan(w, 'watched', [
        {
          name: 'all',
          percent: 100,
          soakSeconds: 0,
          progressDeadlineSeconds: 1,
          gates: [{ provider: 'prometheus', query, op: '<=', threshold: 0.05, windowSeconds: 60 }],
        },
      ]);
      const created = await createRelease(w, { pack: w.packs.v2.digest, plan: 'watched' });
      await w.t.services.controller.tick();
      await fleet.step();
      // Prometheus holds samples of now: the controller asks at the real time.
      w.clock.set(new Date().toISOString());
      await w.t.services.controller.tick();
      return { w, id: created.id, fleet };
    }

    const QUERY = 'max(example_error_ratio{target=~"{{targets}}"})';

    it('passes a stage whose query answers under the threshold, recording query, answer and time', async () => {
      ratio = 0.01;
      await untilSeries(prometheus, 'example_error_ratio == 0.01');
      const { w, id } = await rollout(QUERY);
      try {
        expect((await getRelease(w, id)).state).toBe('completed');
        const gate = await gateResult(w, id);
        expect(gate).toMatchObject({
          verdict: 'pass',
          measured: 0.01,
          query: 'max(example_error_ratio{target=~"t-000|t-001|t-002|t-003|t-004"})',
          answer: { status: 'success', series: [{ labels: {}, value: '0.01' }] },
        });
        expect(Date.parse(gate?.answer?.at ?? '')).toBeGreaterThan(
          Date.parse('2026-03-02T09:00:00Z'),
        );
      } finally {
        await w.close();
      }
    });

    it('rolls back a stage whose query answers over the threshold', async () => {
      ratio = 0.3;
      await untilSeries(prometheus, 'example_error_ratio == 0.3');
      const { w, id } = await rollout(QUERY);
      try {
        expect((await getRelease(w, id)).state).toBe('rolled_back');
        expect(await gateResult(w, id)).toMatchObject({ verdict: 'fail', measured: 0.3 });
      } finally {
        await w.close();
      }
    });

    it('never passes on an empty result or a query error: the release pauses instead', async () => {
      for (const query of [
        'max(example_error_ratio{target="nobody"})',
        'max(example_error_ratio{target=~"{{targets}}"}',
      ]) {
        const { w, id } = await rollout(query);
        try {
          const release = await getRelease(w, id);
          expect(release.state).toBe('paused');
          const gate = await gateResult(w, id);
          expect(gate?.verdict).toBe('inconclusive');
          expect(gate?.answer?.status).toBe(query.endsWith('"}') ? 'error' : 'success');
          // the status shows what Prometheus answered, as the controller recorded it
          const status = await w.call<{ why: { gates: HealthGateResult[] } }>(
            'GET',
            `/releases/${id}`,
          );
          expect(status.body.why.gates).toEqual([
            {
              ...gate,
              reasons: [...(gate?.reasons ?? []), expect.stringMatching(/^answer of /)],
              // the status also says the verdict in one sentence
              words: expect.stringMatching(/^prometheus: .*answer of /) as unknown,
            },
          ]);
        } finally {
          await w.close();
        }
      }
    });

    it('turns an unreachable Prometheus into an error answer, never a throw', async () => {
      const answer = await queryPrometheus('http://127.0.0.1:1', 'up', new Date(), fetch, 2000);
      expect(answer).toMatchObject({ status: 'error', series: [] });
      expect(answer.error).toMatch(/did not answer/);
    });
  },
);
