import { readlinkSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ActivatedEvent, Agent, RevertedEvent } from '../src/index.ts';
import {
  agentOptions,
  currentHex,
  hexOf,
  makeTempDir,
  readState,
  testAgent,
} from './helpers/agent-fixture.ts';
import { runChild } from './helpers/child-process.ts';
import { FixtureServer } from './helpers/fixture-server.ts';
import { buildPack, signIndex } from './helpers/packs.ts';
import type { TestPack } from './helpers/packs.ts';

let server: FixtureServer;
let temp: { dir: string; remove: () => Promise<void> };
let a: TestPack;
let b: TestPack;

beforeEach(async () => {
  server = await FixtureServer.start();
  temp = await makeTempDir('trial');
  a = await buildPack({ version: '1.0.0', sequence: 1 });
  b = await buildPack({ version: '2.0.0', sequence: 2 });
  server.servePack(a);
  server.servePack(b);
});

afterEach(async () => {
  await server.close();
  await temp.remove();
});

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** An agent with A committed and B published in index version 2. */
async function withAOffered(agent: Agent): Promise<void> {
  server.publish(signIndex({ version: 1, packs: [a] }));
  expect(await agent.syncOnce()).toEqual({ kind: 'committed', pack: a.digest });
  server.publish(signIndex({ version: 2, packs: [a, b], base: b }));
}

describe('the trial after the flip', () => {
  it('reverts to the previous pack within the trial when the health check fails', async () => {
    const agent = testAgent(server.url, temp.dir, {
      healthCheck: { url: `${server.url}/healthz` },
      trialMs: 60_000,
    });
    await withAOffered(agent);
    server.healthStatus = 503;
    const seen: string[] = [];
    let activated: ActivatedEvent | null = null;
    let reverted: { event: RevertedEvent } | null = null;
    agent.on('activated', (event) => {
      activated = event;
      seen.push(`activated → current ${readlinkSync(join(temp.dir, 'current'))}`);
    });
    agent.on('reverted', (event) => {
      reverted = { event };
      seen.push(`reverted → current ${readlinkSync(join(temp.dir, 'current'))}`);
    });

    expect(await agent.syncOnce()).toEqual({
      kind: 'reverted',
      pack: b.digest,
      to: a.digest,
      code: 'HEALTH_CHECK_FAILED',
    });
    expect(seen).toEqual([
      `activated → current packs/${hexOf(b)}`,
      `reverted → current packs/${hexOf(a)}`,
    ]);
    // Reverted by the failing checks inside the trial, not by its deadline.
    const ended = reverted as { event: RevertedEvent } | null;
    expect(ended?.event.reason).toBe(`GET ${server.url}/healthz answered 503`);
    expect(activated).not.toBeNull();
    const state = await readState(temp.dir);
    expect(state).toMatchObject({ active: a.digest, lkg: a.digest, highestActivatedSequence: 1 });
    expect(state.lastAttempt).toMatchObject({
      kind: 'activate',
      pack: b.digest,
      result: 'failed',
      code: 'HEALTH_CHECK_FAILED',
    });
    expect(await exists(join(temp.dir, 'trial.json'))).toBe(false);
    expect(server.reports().at(-1)).toMatchObject({
      activePack: a.digest,
      lastAttempt: { kind: 'activate', pack: b.digest, result: 'failed' },
    });
  });

  it('does not retry a reverted pack until a newer index', async () => {
    const agent = testAgent(server.url, temp.dir, {
      healthCheck: { url: `${server.url}/healthz` },
    });
    await withAOffered(agent);
    server.healthStatus = 503;
    expect(await agent.syncOnce()).toMatchObject({ kind: 'reverted' });
    server.healthStatus = 200;
    expect(await agent.syncOnce()).toMatchObject({ kind: 'skipped', pack: b.digest });
    server.publish(signIndex({ version: 3, packs: [a, b], base: b }));
    expect(await agent.syncOnce()).toEqual({ kind: 'committed', pack: b.digest });
    expect((await readState(temp.dir)).lkg).toBe(b.digest);
  });

  it('commits when a command health check exits 0 and reverts when it does not', async () => {
    const check = `test -f "$LOCKGATE_PACK_DIR/data.json" && ! grep -q '"3.0.0"' "$LOCKGATE_PACK_DIR/data.json"`;
    const agent = testAgent(server.url, temp.dir, { healthCheck: { cmd: check } });
    await withAOffered(agent);
    expect(await agent.syncOnce()).toEqual({ kind: 'committed', pack: b.digest });

    const c = await buildPack({ version: '3.0.0', sequence: 3 });
    server.servePack(c);
    server.publish(signIndex({ version: 3, packs: [b, c], base: c }));
    expect(await agent.syncOnce()).toMatchObject({
      kind: 'reverted',
      pack: c.digest,
      to: b.digest,
    });
    expect(await currentHex(temp.dir)).toBe(hexOf(b));
  });

  it('reverts when the deadline passes before enough checks pass', async () => {
    const agent = testAgent(server.url, temp.dir, {
      healthCheck: { url: `${server.url}/healthz` },
      trialPasses: 1_000_000,
      trialMs: 30,
    });
    await withAOffered(agent).catch(() => undefined);
    // A was offered with the same settings, so it could not commit either.
    expect(await currentHex(temp.dir)).toBeNull();
    expect((await readState(temp.dir)).lastAttempt).toMatchObject({
      kind: 'activate',
      pack: a.digest,
      result: 'failed',
      code: 'HEALTH_CHECK_FAILED',
    });
  });
});

describe('an interrupted trial found on start', () => {
  async function dieAfterFlip(overrides: Parameters<typeof agentOptions>[2] = {}): Promise<void> {
    const options = agentOptions(server.url, temp.dir, {
      healthCheck: { url: `${server.url}/healthz` },
      ...overrides,
    });
    const run = runChild(options, 'activated');
    const exit = await run.exited;
    expect(exit.signal).toBe('SIGKILL');
    expect(exit.output).toContain('event activated');
    expect(await currentHex(temp.dir)).toBe(hexOf(b));
    expect(await exists(join(temp.dir, 'trial.json'))).toBe(true);
  }

  it('is committed when the health check passes', async () => {
    await withAOffered(testAgent(server.url, temp.dir));
    await dieAfterFlip();
    const agent = testAgent(server.url, temp.dir, {
      healthCheck: { url: `${server.url}/healthz` },
    });
    const recovery = await agent.recover();
    expect(recovery.trial).toEqual({ kind: 'committed', pack: b.digest });
    expect(await currentHex(temp.dir)).toBe(hexOf(b));
    expect(await readState(temp.dir)).toMatchObject({ active: b.digest, lkg: b.digest });
    expect(await exists(join(temp.dir, 'trial.json'))).toBe(false);
  });

  it('is reverted when the health check fails', async () => {
    await withAOffered(testAgent(server.url, temp.dir));
    await dieAfterFlip();
    server.healthStatus = 500;
    const agent = testAgent(server.url, temp.dir, {
      healthCheck: { url: `${server.url}/healthz` },
    });
    const recovery = await agent.recover();
    expect(recovery.trial).toMatchObject({ kind: 'reverted', pack: b.digest, to: a.digest });
    expect(await currentHex(temp.dir)).toBe(hexOf(a));
    expect(await readState(temp.dir)).toMatchObject({ active: a.digest, lkg: a.digest });
    expect(await exists(join(temp.dir, 'trial.json'))).toBe(false);
  });

  it('is reverted without a check once it was interrupted more often than allowed', async () => {
    await withAOffered(testAgent(server.url, temp.dir));
    await dieAfterFlip({ maxTrialAttempts: 1 });
    const agent = testAgent(server.url, temp.dir, {
      healthCheck: { url: `${server.url}/healthz` },
      maxTrialAttempts: 1,
    });
    // The health check passes: only the bound on interruptions makes this revert.
    const recovery = await agent.recover();
    expect(recovery.trial).toMatchObject({ kind: 'reverted', code: 'TRIAL_INTERRUPTED' });
    expect(await currentHex(temp.dir)).toBe(hexOf(a));
  });
});
