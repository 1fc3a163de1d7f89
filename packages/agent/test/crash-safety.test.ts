import { access, cp, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentEventMap } from '../src/index.ts';
import {
  agentOptions,
  currentHex,
  hexOf,
  holdsExactly,
  makeTempDir,
  readState,
  testAgent,
} from './helpers/agent-fixture.ts';
import { runChild } from './helpers/child-process.ts';
import { FixtureServer } from './helpers/fixture-server.ts';
import { buildPack, signIndex } from './helpers/packs.ts';
import type { TestPack } from './helpers/packs.ts';

const SEED = 0x10c6a7e;
const KILLS_PER_SCENARIO = { commit: 40, revert: 20 };
const PARALLEL = 4;

let server: FixtureServer;
let temp: { dir: string; remove: () => Promise<void> };
let template: string;
let a: TestPack;
let b: TestPack;
let runs = 0;

/** mulberry32: a small deterministic generator, so a failing run can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function options(dir: string): ReturnType<typeof agentOptions> {
  return agentOptions(server.url, dir, {
    healthCheck: { url: `${server.url}/healthz` },
    trialPasses: 1,
    trialFailures: 1,
    healthIntervalMs: 5,
  });
}

async function freshDir(): Promise<string> {
  runs += 1;
  const dir = join(temp.dir, `run-${runs}`);
  await cp(template, dir, { recursive: true, verbatimSymlinks: true });
  return dir;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** `current` points at a complete pack: A or B, holding exactly that pack's files. */
async function expectCurrentComplete(dir: string): Promise<TestPack> {
  const target = await readlink(join(dir, 'current'));
  const pack = target === `packs/${hexOf(a)}` ? a : target === `packs/${hexOf(b)}` ? b : null;
  expect(pack, `current -> ${target}`).not.toBeNull();
  expect(await holdsExactly(join(dir, 'current'), pack ?? a)).toBe(true);
  return pack ?? a;
}

/** After recovery: trial resolved, state matches `current`, nothing half-written left. */
async function expectRecovered(dir: string, scenario: 'commit' | 'revert'): Promise<TestPack> {
  const recovery = await testAgent(server.url, dir, options(dir)).recover();
  const running = await expectCurrentComplete(dir);
  expect(recovery.active).toBe(running.digest);
  expect(await exists(join(dir, 'trial.json'))).toBe(false);
  const state = await readState(dir);
  expect(state.active).toBe(running.digest);
  expect(state.installed).toContain(running.digest);
  if (state.lkg !== null) expect(state.installed).toContain(state.lkg);
  if (scenario === 'revert') expect(running).toBe(a);
  if (running === b) expect(state.lkg).toBe(b.digest);
  if (running === a) expect(state.lkg).toBe(a.digest);
  const leftovers = [...(await readdir(dir)), ...(await readdir(join(dir, 'packs')))].filter((n) =>
    n.includes('.tmp-'),
  );
  expect(leftovers).toEqual([]);
  return running;
}

beforeAll(async () => {
  server = await FixtureServer.start();
  temp = await makeTempDir('crash');
  a = await buildPack({ version: '1.0.0', sequence: 1 });
  // Many files, so that extraction (a write and an fsync per file) spans kill points.
  const files: Record<string, string> = {};
  for (let i = 0; i < 40; i += 1)
    files[`part-${String(i).padStart(2, '0')}/data.txt`] = `${i}`.repeat(2_000);
  b = await buildPack({ version: '2.0.0', sequence: 2, files });
  server.servePack(a);
  server.servePack(b);
  template = join(temp.dir, 'template');
  server.publish(signIndex({ version: 1, packs: [a] }));
  expect(await testAgent(server.url, template).syncOnce()).toMatchObject({ kind: 'committed' });
  server.publish(signIndex({ version: 2, packs: [a, b], base: b }));
});

afterAll(async () => {
  await server.close();
  await temp.remove();
});

describe('kill -9 during activation', () => {
  it.each(['verified', 'activated', 'committed'] as const)(
    'leaves a complete pack and a start that recovers when killed at the %s event',
    async (event: keyof AgentEventMap) => {
      server.healthStatus = 200;
      const dir = await freshDir();
      const exit = await runChild(options(dir), event).exited;
      expect(exit.signal).toBe('SIGKILL');
      await expectCurrentComplete(dir);
      await expectRecovered(dir, 'commit');
    },
  );

  it.each([
    ['commit', 200],
    ['revert', 503],
  ] as const)(
    'never leaves a partial activation when killed at random points (%s path)',
    { timeout: 240_000 },
    async (scenario, status) => {
      server.healthStatus = status;
      // How long an activation takes here, from `ready` to exit, with as many running at once
      // as below: the window to kill in.
      const calibrations = await Promise.all(
        Array.from({ length: PARALLEL }, async () => {
          const started = runChild(options(await freshDir()));
          await started.ready;
          const t0 = performance.now();
          const calibrated = await started.exited;
          expect(calibrated.output).toContain(
            `done ${scenario === 'commit' ? 'committed' : 'reverted'}`,
          );
          const verifiedAt = Number(/event verified (\S+)/.exec(calibrated.output)?.[1] ?? 0);
          return { total: performance.now() - t0, verifiedAt };
        }),
      );
      // The window shrinks when a run ends before its kill (a loaded machine makes calibration
      // runs slower than later ones), so the kills keep landing inside activations.
      let window = Math.max(30, Math.max(...calibrations.map((c) => c.total)) * 1.1);
      // Half the kills anywhere, half between verification and the end (extract, flip, trial).
      const busyFrom = Math.min(...calibrations.map((c) => c.verifiedAt)) * 0.9;

      const next = random(SEED + status);
      const wanted = KILLS_PER_SCENARIO[scenario];
      let kills = 0;
      let attempts = 0;
      // where the kills landed: before extraction, during it, in the trial, after the commit
      const seen = { before: 0, installing: 0, trial: 0, after: 0, finished: 0 };
      const one = async (): Promise<void> => {
        const delay = next() < 0.5 ? next() * window : busyFrom + next() * (window - busyFrom);
        const dir = await freshDir();
        const child = runChild(options(dir));
        await child.ready;
        const t0 = performance.now();
        const endedAt = child.exited.then(() => performance.now());
        await sleep(delay);
        child.child.kill('SIGKILL');
        const exit = await child.exited;
        const killed = exit.signal === 'SIGKILL';
        if (killed) kills += 1;
        else window = Math.max(30, Math.min(window, ((await endedAt) - t0) * 0.9));
        const killedOn = await expectCurrentComplete(dir);
        const packsDir = await readdir(join(dir, 'packs'));
        if (!killed) seen.finished += 1;
        else if (await exists(join(dir, 'trial.json'))) seen.trial += 1;
        else if (killedOn === b) seen.after += 1;
        else if (packsDir.some((n) => n.includes('.tmp-') || n.startsWith(hexOf(b)))) {
          seen.installing += 1;
        } else seen.before += 1;
        await expectRecovered(dir, scenario);
        // The next sync finishes the job: B when healthy; A when B fails its trial.
        await testAgent(server.url, dir, options(dir)).syncOnce();
        expect(await currentHex(dir)).toBe(hexOf(scenario === 'commit' ? b : a));
      };
      while (kills < wanted && attempts < wanted * 6) {
        const batch = Math.min(PARALLEL, wanted - kills);
        attempts += batch;
        await Promise.all(Array.from({ length: batch }, one));
      }
      expect(kills).toBeGreaterThanOrEqual(wanted);
      // Kills landed before the flip and inside the trial, not only after the end.
      expect(seen.installing + seen.trial, JSON.stringify(seen)).toBeGreaterThan(0);
    },
  );
});
