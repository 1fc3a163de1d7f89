import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentMetrics, parseListenAddress, resolveAgentOptions } from '../src/index.ts';
import type { AgentSnapshot } from '../src/index.ts';
import { emptyState } from '../src/agent-state.ts';
import { agentOptions, makeTempDir, testAgent } from './helpers/agent-fixture.ts';

const PACK = `sha256:${'a'.repeat(64)}` as const;

/** The value of one sample line `name{labels} value`, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('the metrics listen address', () => {
  it('takes HOST:PORT and [IPv6]:PORT, port 0 for any free one', () => {
    expect(parseListenAddress('127.0.0.1:9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseListenAddress('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseListenAddress(' localhost:80 ')).toEqual({ host: 'localhost', port: 80 });
  });

  it('refuses anything else, and the agent options say which option is wrong', () => {
    for (const bad of [
      '9464',
      '127.0.0.1:',
      ':80',
      '127.0.0.1:70000',
      '[::1]',
      '::1:80',
      'a b:1',
    ]) {
      expect(parseListenAddress(bad), bad).toBeNull();
    }
    expect(() =>
      resolveAgentOptions(agentOptions('http://127.0.0.1:1', '/tmp', { metricsListen: 'nope' })),
    ).toThrow(/metricsListen must be HOST:PORT/);
    expect(
      resolveAgentOptions(agentOptions('http://127.0.0.1:1', '/tmp')).metricsListen,
    ).toBeNull();
  });
});

describe('AgentMetrics', () => {
  const at = new Date('2026-11-23T10:00:00.000Z');

  function metricsWith(snapshot: AgentSnapshot): AgentMetrics {
    return new AgentMetrics({ env: 'prod-eu', channel: 'stable', read: () => snapshot });
  }

  it('counts verifications, refusals, reverts and fetches by code, and keeps the last verification', async () => {
    const state = { ...emptyState(), highestSeenIndexVersion: 7, active: PACK };
    const metrics = metricsWith({
      phase: 'trial',
      state,
      activePack: { name: 'kb', sequence: 14 },
    });
    metrics.observe(
      { name: 'verified', event: { pack: PACK, name: 'kb', version: '1.4.0', sequence: 14 } },
      at,
    );
    metrics.observe(
      {
        name: 'rejected',
        event: { pack: null, stage: 'index', code: 'INDEX_EXPIRED', message: '' },
      },
      at,
    );
    const later = new Date(at.getTime() + 5000);
    metrics.observe(
      {
        name: 'rejected',
        event: { pack: PACK, stage: 'pack', code: 'PACK_SIGNATURE_INVALID', message: '' },
      },
      later,
    );
    metrics.observe(
      {
        name: 'reverted',
        event: { pack: PACK, to: null, code: 'HEALTH_CHECK_FAILED', reason: '' },
      },
      later,
    );
    metrics.fetched(1000);
    metrics.fetched(24);
    metrics.fetchFailed('SERVER_UNREACHABLE');
    const text = await metrics.render();

    expect(sample(text, 'lockgate_target_verifications_total{result="ok",code="OK"}')).toBe(1);
    expect(
      sample(
        text,
        'lockgate_target_verifications_total{result="failed",code="PACK_SIGNATURE_INVALID"}',
      ),
    ).toBe(1);
    expect(sample(text, 'lockgate_target_index_rejections_total{code="INDEX_EXPIRED"}')).toBe(1);
    expect(sample(text, 'lockgate_target_reverts_total{code="HEALTH_CHECK_FAILED"}')).toBe(1);
    expect(sample(text, 'lockgate_target_pack_fetch_bytes_total')).toBe(1024);
    expect(
      sample(text, 'lockgate_target_pack_fetch_failures_total{code="SERVER_UNREACHABLE"}'),
    ).toBe(1);
    // one series: the last verification, with its result and code
    expect(text.match(/^lockgate_target_last_verification_timestamp_seconds\{/gm)).toHaveLength(1);
    expect(
      sample(
        text,
        'lockgate_target_last_verification_timestamp_seconds{result="failed",code="PACK_SIGNATURE_INVALID"}',
      ),
    ).toBe(later.getTime() / 1000);
    expect(sample(text, 'lockgate_target_phase{phase="trial"}')).toBe(1);
    expect(sample(text, 'lockgate_target_phase{phase="idle"}')).toBe(0);
    expect(sample(text, 'lockgate_target_trial_in_progress')).toBe(1);
    expect(sample(text, 'lockgate_target_active_pack_sequence{name="kb"}')).toBe(14);
    expect(sample(text, 'lockgate_target_index_version')).toBe(7);
  });

  it('starts from the refusal the saved state remembers, and shows no pack before recovery', async () => {
    const refusedAt = '2026-11-22T09:00:00.000Z';
    const state = {
      ...emptyState(),
      lastAttempt: {
        kind: 'verify' as const,
        pack: PACK,
        result: 'failed' as const,
        code: 'PACK_REVOKED',
        at: refusedAt,
      },
    };
    const restarted = await metricsWith({ phase: 'idle', state, activePack: null }).render();
    expect(
      sample(
        restarted,
        'lockgate_target_last_verification_timestamp_seconds{result="failed",code="PACK_REVOKED"}',
      ),
    ).toBe(Date.parse(refusedAt) / 1000);

    const starting = await metricsWith({
      phase: 'starting',
      state: null,
      activePack: null,
    }).render();
    expect(sample(starting, 'lockgate_target_phase{phase="starting"}')).toBe(1);
    expect(sample(starting, 'lockgate_target_index_version')).toBe(0);
    expect(starting).not.toContain('lockgate_target_active_pack_sequence{');
    expect(starting).not.toContain('lockgate_target_last_verification_timestamp_seconds{');
    expect(sample(starting, 'lockgate_target_info{env="prod-eu",channel="stable"}')).toBe(1);
  });
});

describe('an agent with metricsListen', () => {
  let holder: Server | null = null;
  let temp: { dir: string; remove: () => Promise<void> } | null = null;

  afterEach(async () => {
    await new Promise((resolve) => (holder === null ? resolve(null) : holder.close(resolve)));
    holder = null;
    await temp?.remove();
  });

  it('refuses to start with ADDRESS_IN_USE when the port is taken', async () => {
    holder = createServer();
    await new Promise<void>((resolve) => holder?.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as AddressInfo;
    temp = await makeTempDir('metrics-port');
    const agent = testAgent('http://127.0.0.1:1', temp.dir, { metricsListen: `127.0.0.1:${port}` });
    await expect(agent.start()).rejects.toMatchObject({ code: 'ADDRESS_IN_USE' });
    expect(agent.metricsAddress).toBeNull();
    await agent.stop();
  });
});
