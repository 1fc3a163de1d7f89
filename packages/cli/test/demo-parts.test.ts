import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  matchesSelector,
  parsePublicKey,
  readPackArchive,
  validateCohort,
  validatePlan,
  verifyPack,
} from '@lockgate/core';
import type { HealthGateSpec, LabelSelector } from '@lockgate/core';
import { createRuntime } from '../src/demo/example-runtime.ts';
import {
  buildDemoPack,
  DEMO_LOOKUP_KEYS,
  DEMO_PACKS,
  loadOrCreateDemoKeys,
} from '../src/demo/demo-packs.ts';
import {
  bootstrapPlan,
  DEMO_COHORTS,
  demoTargets,
  releasePlan,
  ringSizes,
} from '../src/demo/demo-plan.ts';
import { formatTimeline } from '../src/demo/demo-timeline.ts';
import type { DemoDecisionRecord } from '../src/demo/demo-timeline.ts';
import { startTraffic } from '../src/demo/demo-traffic.ts';
import { makeTempDir } from './cli-harness.ts';

let temp: { dir: string; remove: () => Promise<void> };

beforeEach(async () => {
  temp = await makeTempDir('demo-parts');
});

afterEach(async () => {
  await temp.remove();
});

describe('the demo fleet and plan', () => {
  it('labels 10% of the targets canary and 40% more early', () => {
    const targets = demoTargets(20);
    expect(targets.map((t) => t.id)).toContain('demo-01');
    expect(targets.map((t) => t.id)).toContain('demo-20');
    expect(targets.filter((t) => t.ring === 'canary')).toHaveLength(2);
    expect(targets.filter((t) => t.ring === 'early')).toHaveLength(8);
    expect(targets.filter((t) => t.ring === 'main')).toHaveLength(10);
    expect(ringSizes(20)).toEqual({ canary: 2, early: 10, all: 20 });
    expect(ringSizes(3)).toEqual({ canary: 1, early: 2, all: 3 });
  });

  it('makes cohorts that select exactly the canary and the first half', () => {
    const targets = demoTargets(20);
    const [canary, early] = DEMO_COHORTS.map((c) => validateCohort(c));
    const count = (selector: LabelSelector | undefined) =>
      targets.filter((t) => selector !== undefined && matchesSelector(selector, t.labels)).length;
    expect(count(canary?.selector)).toBe(2);
    expect(count(early?.selector)).toBe(10);
  });

  it('builds plans that core accepts, gated on the stage sizes', () => {
    const plan = validatePlan(releasePlan(20), { cohorts: DEMO_COHORTS.map((c) => c.name) });
    expect(plan.stages.map((s) => [s.name, s.cohort ?? null, s.percent])).toEqual([
      ['canary', 'canary', 100],
      ['half', 'early', 100],
      ['all', null, 100],
    ]);
    expect(plan.stages.map((s) => (s.gates[0] as HealthGateSpec | undefined)?.minTargets)).toEqual([
      2, 10, 20,
    ]);
    expect(
      plan.stages.every((s) => (s.gates[0] as HealthGateSpec | undefined)?.metric === 'error_rate'),
    ).toBe(true);
    // the first two stages judge the canary against a baseline, the threshold only watches there
    expect(
      plan.stages.map((s) => [s.baseline ?? null, s.gates.map((g) => g.mode ?? 'enforce')]),
    ).toEqual([
      [{}, ['shadow', 'enforce', 'enforce']],
      [{}, ['shadow', 'enforce', 'enforce']],
      [null, ['enforce', 'enforce']],
    ]);
    expect(plan.stages[0]?.gates[2]).toMatchObject({ kind: 'compare', metric: 'error_rate' });
    expect(validatePlan(bootstrapPlan()).stages).toHaveLength(1);
  });
});

describe('the demo packs', () => {
  it('are signed by the demo key, carry the runtime files and are reproducible', async () => {
    const keys = await loadOrCreateDemoKeys(join(temp.dir, 'keys'));
    const again = await loadOrCreateDemoKeys(join(temp.dir, 'keys'));
    expect(again.publicKeyPem).toBe(keys.publicKeyPem);
    expect((await readFile(keys.privateKeyPath, 'utf8')).startsWith('-----BEGIN PRIVATE KEY')).toBe(
      true,
    );

    const bad = DEMO_PACKS.find((p) => p.label === 'v3');
    expect(bad?.settings).toEqual({ errorRate: 0.2 });
    const built = await buildDemoPack(bad ?? DEMO_PACKS[0]!, keys);
    const contents = await readPackArchive(built.bytes);
    const verified = verifyPack(contents.manifest, contents.files, {
      trustedKeys: [parsePublicKey(keys.publicKeyPem)],
    });
    expect(verified.digest).toBe(built.digest);
    expect([...contents.files.keys()].sort()).toEqual(['data.json', 'pack.json', 'runtime.json']);
    const rebuilt = await buildDemoPack(bad ?? DEMO_PACKS[0]!, keys);
    expect(rebuilt.digest).toBe(built.digest);
  });
});

describe('the demo traffic', () => {
  it('counts answers by version and server errors from a misbehaving runtime', async () => {
    const packDir = join(temp.dir, 'pack');
    await mkdir(packDir);
    await writeFile(
      join(packDir, 'data.json'),
      JSON.stringify(Object.fromEntries(DEMO_LOOKUP_KEYS.map((k) => [k, k]))),
    );
    await writeFile(join(packDir, 'pack.json'), JSON.stringify({ name: 'x', version: '9.0.0' }));
    await writeFile(join(packDir, 'runtime.json'), JSON.stringify({ errorRate: 0.5 }));
    await symlink(packDir, join(temp.dir, 'current'));
    const runtime = await createRuntime({ packDir: join(temp.dir, 'current') });
    try {
      const traffic = startTraffic({
        endpoints: [{ id: 'a', url: runtime.url }],
        requestsPerSecond: 100,
        maxDurationMs: 5000,
        fetch: globalThis.fetch,
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      const counts = await traffic.stop();
      expect(counts.requests).toBeGreaterThan(4);
      expect(counts.requests).toBe(
        counts.ok + counts.serverErrors + counts.otherStatus + counts.unreachable,
      );
      expect(Math.abs(counts.ok - counts.serverErrors)).toBeLessThanOrEqual(1);
      expect(counts.byVersion['9.0.0']).toBe(counts.ok);
      expect(runtime.totals().requests).toBe(counts.requests);
    } finally {
      await runtime.close();
    }
  });
});

describe('the demo timeline', () => {
  it('reads as sentences with the gates under the decision', () => {
    const base = { reason: null, verdict: '', stageIndex: 0 };
    const records: DemoDecisionRecord[] = [
      {
        ...base,
        seq: 1,
        at: '2026-11-23T10:00:00.000Z',
        kind: 'stage',
        rule: 'stage.start',
        actor: 'controller',
        from: 'rolling',
        to: 'rolling',
        inputs: { stage: { index: 0, name: 'canary', percent: 100, cohort: 'canary' } },
      },
      {
        ...base,
        seq: 2,
        at: '2026-11-23T10:00:04.500Z',
        kind: 'health',
        rule: 'gate.failed',
        actor: 'controller',
        from: 'rolling',
        to: 'rolled_back',
        inputs: {
          stage: { index: 0, name: 'canary', percent: 100, cohort: 'canary' },
          gates: [
            {
              metric: 'error_rate',
              verdict: 'fail',
              measured: 0.2,
              threshold: 0.05,
              op: '<=',
              targets: 2,
              samples: 60,
            },
          ],
          rollback: { to: 'sha256:v2' },
        },
      },
    ];
    const lines = formatTimeline(records, (d) => (d === 'sha256:v2' ? 'v2' : String(d)));
    expect(lines[0]).toContain('+  0.0s');
    expect(lines[0]).toContain('stage canary (100% of cohort canary) started');
    expect(lines[1]).toContain('+  4.5s');
    expect(lines[1]).toContain('health gate failed in stage canary');
    expect(lines[1]).toContain('rolled back to v2');
    expect(lines[2]).toContain('FAIL  error_rate 0.200 > 0.050 (targets 2, samples 60)');
  });
});
