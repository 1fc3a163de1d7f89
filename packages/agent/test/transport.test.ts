import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Agent, AgentEventMap } from '../src/index.ts';
import { currentHex, hexOf, makeTempDir, testAgent } from './helpers/agent-fixture.ts';
import { FixtureServer } from './helpers/fixture-server.ts';
import { buildPack, signIndex } from './helpers/packs.ts';
import type { TestPack } from './helpers/packs.ts';

let server: FixtureServer;
let temp: { dir: string; remove: () => Promise<void> };
let a: TestPack;
let b: TestPack;
let running: Agent | null = null;

beforeEach(async () => {
  server = await FixtureServer.start();
  temp = await makeTempDir('transport');
  a = await buildPack({ version: '1.0.0', sequence: 1 });
  const big: Record<string, string> = {};
  for (let i = 0; i < 8; i += 1) big[`chunk-${i}.txt`] = `${i}`.repeat(50_000);
  b = await buildPack({ version: '2.0.0', sequence: 2, files: big });
  server.servePack(a);
  server.servePack(b);
});

afterEach(async () => {
  await running?.stop();
  running = null;
  await server.close();
  await temp.remove();
});

function next<K extends keyof AgentEventMap>(agent: Agent, name: K): Promise<AgentEventMap[K][0]> {
  return new Promise((resolve) => {
    agent.once(name, ((event: AgentEventMap[K][0]) => resolve(event)) as never);
  });
}

describe('talking to the server', () => {
  it('registers the target with its labels and capabilities', async () => {
    const agent = testAgent(server.url, temp.dir, {
      labels: { region: 'eu', tier: 'gold' },
      capabilities: { schema: 'kb/3' },
      runtimeVersion: '2.3.1',
    });
    server.publish(signIndex({ version: 1, packs: [a] }));
    await agent.syncOnce();
    const [registration] = server.requestsTo('PUT', /^\/api\/v1\/targets\/target-1$/);
    expect(registration?.body).toEqual({
      env: 'prod-eu',
      channel: 'stable',
      labels: { region: 'eu', tier: 'gold' },
      capabilities: { schema: 'kb/3', runtime: '2.3.1' },
    });
    expect(registration?.headers.authorization).toBe('Bearer test-token');
  });

  it('asks for the index with its ETag and does nothing on 304', async () => {
    const agent = testAgent(server.url, temp.dir);
    server.publish(signIndex({ version: 7, packs: [a] }));
    expect(await agent.syncOnce()).toMatchObject({ kind: 'committed' });
    expect(await agent.syncOnce()).toEqual({ kind: 'up-to-date', pack: a.digest, indexVersion: 7 });
    expect(server.requestsTo('GET', /\/index$/).at(-1)?.headers['if-none-match']).toBe('"7"');
  });

  it('takes a pushed index event at once and reconnects after the stream drops', async () => {
    const agent = testAgent(server.url, temp.dir, {
      events: true,
      pollIntervalMs: 3_600_000,
      reportIntervalMs: 3_600_000,
      reconnectMinMs: 10,
    });
    running = agent;
    server.publish(signIndex({ version: 1, packs: [a] }));
    const first = next(agent, 'committed');
    await agent.start();
    expect(await first).toEqual({ pack: a.digest });
    while (server.eventStreams === 0) await new Promise((r) => setTimeout(r, 5));

    const second = next(agent, 'committed');
    server.publish(signIndex({ version: 2, packs: [a, b], base: b }));
    expect(await second).toEqual({ pack: b.digest });

    server.dropEventStreams();
    while (server.eventStreams === 0) await new Promise((r) => setTimeout(r, 5));
    const rejectedSoon = next(agent, 'rejected');
    server.publish(signIndex({ version: 3, packs: [b, a], base: a }));
    // A has a lower sequence than B, which this target committed: refused, not activated.
    const rejected = await rejectedSoon;
    expect(rejected).toMatchObject({ pack: a.digest, code: 'RELEASE_BELOW_FLOOR' });
    expect(await currentHex(temp.dir)).toBe(hexOf(b));
  });

  it('resumes a broken download with Range instead of starting again', async () => {
    const agent = testAgent(server.url, temp.dir);
    server.publish(signIndex({ version: 1, packs: [a] }));
    await agent.syncOnce();
    server.publish(signIndex({ version: 2, packs: [a, b], base: b }));
    server.cutNextDownloadAfter = 100_000;
    expect(await agent.syncOnce()).toMatchObject({ kind: 'offline' });
    const partial = await stat(join(temp.dir, 'cache', `${hexOf(b)}.pack.partial`));
    expect(partial.size).toBeGreaterThan(0);
    expect(partial.size).toBeLessThan(b.bytes.length);

    expect(await agent.syncOnce()).toEqual({ kind: 'committed', pack: b.digest });
    const resumed = server.requestsTo('GET', /^\/api\/v1\/packs\//).at(-1);
    expect(resumed?.headers.range).toBe(`bytes=${partial.size}-`);
    expect(resumed?.headers['if-range']).toBe(`"${b.digest}"`);
  });

  it('reports traffic as deltas since the last report, with latency percentiles', async () => {
    const metrics = (requests: number, errors: number, fast: number, slow: number): string =>
      [
        '# TYPE lockgate_runtime_requests_total counter',
        `lockgate_runtime_requests_total{route="/lookup"} ${requests - 10}`,
        'lockgate_runtime_requests_total{route="/healthz"} 10',
        `lockgate_runtime_errors_total ${errors}`,
        '# TYPE lockgate_runtime_request_duration_seconds histogram',
        `lockgate_runtime_request_duration_seconds_bucket{le="0.01"} ${fast}`,
        `lockgate_runtime_request_duration_seconds_bucket{le="0.1"} ${fast + slow}`,
        `lockgate_runtime_request_duration_seconds_bucket{le="+Inf"} ${fast + slow}`,
        `lockgate_runtime_request_duration_seconds_sum 1`,
        `lockgate_runtime_request_duration_seconds_count ${fast + slow}`,
      ].join('\n');
    const agent = testAgent(server.url, temp.dir, {
      runtimeMetrics: { url: `${server.url}/metrics` },
      healthCheck: { url: `${server.url}/healthz` },
    });
    server.publish(signIndex({ version: 1, packs: [a] }));
    server.metrics = metrics(100, 1, 100, 0);
    await agent.syncOnce();
    server.metrics = metrics(300, 5, 280, 20);
    expect(await agent.report()).toBe(true);
    const report = server.reports().at(-1);
    expect(report).toMatchObject({
      activePack: a.digest,
      lastAttempt: { kind: 'activate', pack: a.digest, result: 'ok' },
      health: { requests: 200, errors: 4 },
    });
    // 180 fast + 20 slow new requests: p95 (rank 190) lies in the 10-100 ms bucket.
    expect(report?.health).toMatchObject({ latencyP95Ms: 55, latencyP99Ms: 91 });
    // the counts a compare gate on latency reads, beside the health check's signal
    expect((report?.health as { signals: Record<string, number> }).signals).toEqual({
      'slower_than_ms:10': 20,
      'slower_than_ms:100': 0,
      health_check: 1,
    });
  });

  it('sends no report before a 429 Retry-After ends, then sends the deltas it held back', async () => {
    let nowMs = Date.parse('2026-03-01T10:00:00.000Z');
    const agent = testAgent(server.url, temp.dir, {
      runtimeMetrics: { url: `${server.url}/metrics` },
      clock: { now: () => new Date(nowMs) },
    });
    const counters = (requests: number): string =>
      `# TYPE lockgate_runtime_requests_total counter\nlockgate_runtime_requests_total ${requests}\n`;
    server.publish(signIndex({ version: 1, packs: [a] }));
    server.metrics = counters(100);
    await agent.syncOnce();
    server.metrics = counters(150);
    server.nextReportAnswer = (response) => {
      response
        .writeHead(429, { 'content-type': 'application/json', 'retry-after': '30' })
        .end(JSON.stringify({ code: 'REPORTS_BACKLOGGED', message: 'Behind on reports.' }));
    };
    const sentBefore = server.reports().length;
    expect(await agent.report()).toBe(false);
    expect(server.reports()).toHaveLength(sentBefore + 1);

    nowMs += 29_000;
    server.metrics = counters(170);
    expect(await agent.report()).toBe(false);
    expect(server.reports()).toHaveLength(sentBefore + 1);

    nowMs += 1_000;
    expect(await agent.report()).toBe(true);
    expect(server.reports()).toHaveLength(sentBefore + 2);
    expect(server.reports().at(-1)).toMatchObject({ health: { requests: 70 } });
  });
});
