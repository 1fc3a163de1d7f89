import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRuntime, lookupFails } from '../examples/runtime/src/index.ts';
import type { Runtime } from '../examples/runtime/src/index.ts';

const MAIN = fileURLToPath(new URL('../examples/runtime/src/main.ts', import.meta.url));

interface PackFiles {
  data?: unknown;
  info?: unknown;
  settings?: unknown;
  raw?: Record<string, string>;
}

let root = '';
const runtimes: Runtime[] = [];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'lockgate-runtime-'));
});

afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((runtime) => runtime.close()));
  await rm(root, { recursive: true, force: true });
});

/** Writes a pack directory named `packs/<name>` and returns its path. */
async function writePack(name: string, files: PackFiles): Promise<string> {
  const dir = join(root, 'packs', name);
  await mkdir(dir, { recursive: true });
  if (files.data !== undefined) await writeFile(join(dir, 'data.json'), JSON.stringify(files.data));
  if (files.info !== undefined) await writeFile(join(dir, 'pack.json'), JSON.stringify(files.info));
  if (files.settings !== undefined) {
    await writeFile(join(dir, 'runtime.json'), JSON.stringify(files.settings));
  }
  for (const [path, text] of Object.entries(files.raw ?? {})) {
    await writeFile(join(dir, path), text);
  }
  return dir;
}

/** Points `root/current` at a pack directory the way the agent does: a new link renamed over. */
async function activate(dir: string): Promise<string> {
  const current = join(root, 'current');
  const next = join(root, `current.next-${Math.random().toString(16).slice(2)}`);
  await symlink(dir, next);
  await rename(next, current);
  return current;
}

async function start(packDir: string, pollIntervalMs = 50): Promise<Runtime> {
  const runtime = await createRuntime({ packDir, pollIntervalMs });
  runtimes.push(runtime);
  return runtime;
}

async function getJson(
  runtime: Runtime,
  path: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${runtime.url}${path}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function metricsOf(runtime: Runtime): Promise<string> {
  const response = await fetch(`${runtime.url}/metrics`);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

/** The value of one series line, e.g. `lockgate_runtime_errors_total{route="lookup"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function until(check: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the example runtime', () => {
  it('serves lookups and the version from the active pack', async () => {
    const v1 = await writePack('a'.repeat(64), {
      data: { greeting: 'hello', answer: 42 },
      info: { name: 'kb', version: '1.0.0' },
    });
    const runtime = await start(await activate(v1));

    expect(await getJson(runtime, '/lookup/greeting')).toEqual({
      status: 200,
      body: {
        key: 'greeting',
        value: 'hello',
        pack: { name: 'kb', version: '1.0.0', digest: `sha256:${'a'.repeat(64)}` },
      },
    });
    expect((await getJson(runtime, '/lookup/answer')).body['value']).toBe(42);
    expect((await getJson(runtime, '/lookup/unknown')).status).toBe(404);
    const version = await getJson(runtime, '/version');
    expect(version.status).toBe(200);
    expect(version.body).toMatchObject({ name: 'kb', version: '1.0.0' });
    expect((await getJson(runtime, '/healthz')).status).toBe(200);
    expect((await getJson(runtime, '/nowhere')).status).toBe(404);
    const post = await fetch(`${runtime.url}/lookup/greeting`, { method: 'POST' });
    expect(post.status).toBe(405);
  });

  it('takes name and version from the agent manifest beside the pack when pack.json is absent', async () => {
    const hex = 'b'.repeat(64);
    const dir = await writePack(hex, { data: { k: 'v' } });
    await writeFile(
      `${dir}.manifest.json`,
      JSON.stringify({ name: 'kb', version: '4.5.6', sequence: 7, files: [] }),
    );
    const runtime = await start(await activate(dir));
    expect((await getJson(runtime, '/version')).body).toMatchObject({
      name: 'kb',
      version: '4.5.6',
      digest: `sha256:${hex}`,
    });
  });

  it('decodes percent-encoded keys', async () => {
    const runtime = await start(
      await activate(await writePack('p1', { data: { 'a b/c': 'spaced' } })),
    );
    expect((await getJson(runtime, `/lookup/${encodeURIComponent('a b/c')}`)).body['value']).toBe(
      'spaced',
    );
  });

  it('switches to a new pack when the symlink flips, without a restart', async () => {
    const v1 = await writePack('v1', {
      data: { k: 'one' },
      info: { name: 'kb', version: '1.0.0' },
    });
    const v2 = await writePack('v2', {
      data: { k: 'two' },
      info: { name: 'kb', version: '2.0.0' },
    });
    const runtime = await start(await activate(v1));
    expect((await getJson(runtime, '/lookup/k')).body['value']).toBe('one');

    await activate(v2);
    await until(async () => (await getJson(runtime, '/lookup/k')).body['value'] === 'two');
    expect((await getJson(runtime, '/version')).body['version']).toBe('2.0.0');

    await activate(v1);
    await until(async () => (await getJson(runtime, '/version')).body['version'] === '1.0.0');
    const text = await metricsOf(runtime);
    expect(sample(text, 'lockgate_runtime_pack_reloads_total')).toBeGreaterThanOrEqual(3);
  });

  it('never answers from half a pack while packs flip under load', async () => {
    const packs = await Promise.all(
      [1, 2, 3].map((n) =>
        writePack(`v${n}`, {
          data: { a: n, b: n, c: n },
          info: { name: 'kb', version: `${n}.0.0` },
        }),
      ),
    );
    const runtime = await start(await activate(packs[0] ?? ''), 10);
    let flipping = true;
    const flips = (async () => {
      for (let i = 0; flipping; i += 1) {
        await activate(packs[i % 3] ?? '');
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
    })();
    try {
      for (let i = 0; i < 60; i += 1) {
        const { status, body } = await getJson(runtime, `/lookup/${['a', 'b', 'c'][i % 3]}`);
        expect(status).toBe(200);
        const pack = body['pack'] as { version: string };
        expect(pack.version).toBe(`${String(body['value'])}.0.0`);
      }
    } finally {
      flipping = false;
      await flips;
    }
  });

  it('shows errorRate failures in /metrics as 500s on lookups', async () => {
    const bad = await writePack('bad', {
      data: { k: 'v' },
      info: { name: 'kb', version: '3.0.0' },
      settings: { errorRate: 0.2 },
    });
    const runtime = await start(await activate(bad));
    const statuses: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      statuses.push((await getJson(runtime, '/lookup/k')).status);
    }
    expect(statuses.filter((s) => s === 500)).toHaveLength(4);
    expect(statuses[4]).toBe(500);
    await getJson(runtime, '/version');

    const text = await metricsOf(runtime);
    expect(sample(text, 'lockgate_runtime_requests_total{route="lookup"}')).toBe(20);
    expect(sample(text, 'lockgate_runtime_errors_total{route="lookup"}')).toBe(4);
    expect(sample(text, 'lockgate_runtime_requests_total{route="version"}')).toBe(1);
    expect(sample(text, 'lockgate_runtime_errors_total{route="version"}')).toBe(0);
    expect(
      sample(text, 'lockgate_runtime_request_duration_seconds_bucket{route="lookup",le="+Inf"}'),
    ).toBe(20);
    expect(sample(text, 'lockgate_runtime_request_duration_seconds_count{route="lookup"}')).toBe(
      20,
    );
    expect(
      sample(text, 'lockgate_runtime_request_duration_seconds_sum{route="lookup"}'),
    ).toBeGreaterThan(0);
    expect(text).toContain('# TYPE lockgate_runtime_request_duration_seconds histogram');
    expect(text).toContain('# TYPE lockgate_runtime_requests_total counter');
    expect(text).toContain('lockgate_runtime_pack_info{name="kb",version="3.0.0",digest=""} 1');
    expect(runtime.totals()).toEqual({ requests: 21, errors: 4 });
    // Probes and scrapes are not application traffic.
    await getJson(runtime, '/healthz');
    expect(runtime.totals().requests).toBe(21);
  });

  it('keeps histogram buckets cumulative and shows added latency', async () => {
    const slow = await writePack('slow', { data: { k: 'v' }, settings: { addedLatencyMs: 30 } });
    const runtime = await start(await activate(slow));
    for (let i = 0; i < 3; i += 1) await getJson(runtime, '/lookup/k');
    const text = await metricsOf(runtime);
    const bucket = (le: string): number | undefined =>
      sample(text, `lockgate_runtime_request_duration_seconds_bucket{route="lookup",le="${le}"}`);
    expect(bucket('0.025')).toBe(0);
    expect(bucket('0.1')).toBe(3);
    expect(bucket('10')).toBe(3);
    expect(
      sample(text, 'lockgate_runtime_request_duration_seconds_sum{route="lookup"}'),
    ).toBeGreaterThanOrEqual(0.09);
  });

  it('answers 503 on /healthz when the pack sets failHealth, and 200 again after a good pack', async () => {
    const sick = await writePack('sick', { data: { k: 'v' }, settings: { failHealth: true } });
    const good = await writePack('good', { data: { k: 'v' } });
    const runtime = await start(await activate(sick));
    const health = await getJson(runtime, '/healthz');
    expect(health.status).toBe(503);
    expect(health.body['problem']).toMatch(/failHealth/);
    expect(sample(await metricsOf(runtime), 'lockgate_runtime_healthy')).toBe(0);
    // Lookups still work: only the health probe is affected.
    expect((await getJson(runtime, '/lookup/k')).status).toBe(200);

    await activate(good);
    await until(async () => (await getJson(runtime, '/healthz')).status === 200);
    expect(sample(await metricsOf(runtime), 'lockgate_runtime_healthy')).toBe(1);
  });

  it('answers 503, not a crash, when the pack directory is missing, and recovers', async () => {
    const runtime = await start(join(root, 'current'));
    const health = await getJson(runtime, '/healthz');
    expect(health.status).toBe(503);
    expect(health.body['problem']).toMatch(/missing/);
    expect((await getJson(runtime, '/lookup/k')).status).toBe(503);
    expect((await getJson(runtime, '/version')).status).toBe(503);
    expect(await metricsOf(runtime)).toContain('lockgate_runtime_healthy 0');

    await activate(await writePack('late', { data: { k: 'v' } }));
    await until(async () => (await getJson(runtime, '/healthz')).status === 200);
    expect((await getJson(runtime, '/lookup/k')).body['value']).toBe('v');
  });

  it.each([
    ['a data.json that is not an object', { raw: { 'data.json': '[1, 2]' } }, /JSON object/],
    ['a data.json that is not JSON', { raw: { 'data.json': '{oops' } }, /data\.json/],
    ['no data.json', { info: { name: 'kb', version: '1.0.0' } }, /data\.json is missing/],
    ['an unknown setting', { data: {}, settings: { explode: true } }, /explode is not a setting/],
    ['an errorRate above 1', { data: {}, settings: { errorRate: 2 } }, /errorRate/],
    ['a pack.json with a numeric version', { data: {}, info: { version: 3 } }, /version/],
  ])('answers 503 for a pack with %s', async (_what, files: PackFiles, problem: RegExp) => {
    const runtime = await start(await activate(await writePack('broken', files)));
    const health = await getJson(runtime, '/healthz');
    expect(health.status).toBe(503);
    expect(String(health.body['problem'])).toMatch(problem);
    expect((await getJson(runtime, '/lookup/k')).status).toBe(503);
  });

  it('answers 503 when the symlink points at a file, then recovers when it is fixed', async () => {
    const file = join(root, 'not-a-dir');
    await writeFile(file, 'x');
    const runtime = await start(await activate(file));
    expect((await getJson(runtime, '/healthz')).status).toBe(503);
    await activate(await writePack('fixed', { data: { k: 1 } }));
    await until(async () => (await getJson(runtime, '/healthz')).status === 200);
  });

  it('runs as a process that prints its URL and stops on SIGTERM', async () => {
    const pack = await activate(await writePack('proc', { data: { k: 'proc' } }));
    const child = spawn(process.execPath, [MAIN, '--pack-dir', pack, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /listening on (http:\/\/\S+)/.exec(out);
          if (match?.[1] !== undefined) resolve(match[1]);
        });
        child.once('exit', (code) => reject(new Error(`exited ${String(code)}`)));
        setTimeout(() => reject(new Error('no URL in time')), 10_000).unref();
      });
      const response = await fetch(`${url}/lookup/k`);
      expect(await response.json()).toMatchObject({ value: 'proc' });
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });

  it('exits 2 on a usage error', async () => {
    const child = spawn(process.execPath, [MAIN, '--port', '1'], { stdio: 'pipe' });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
  });
});

describe('lookupFails', () => {
  it('fails exactly ⌊n·rate⌋ of the first n lookups, evenly spread', () => {
    for (const rate of [0, 0.05, 0.1, 0.2, 0.25, 1 / 3, 0.5, 1]) {
      let failed = 0;
      for (let n = 1; n <= 1000; n += 1) {
        if (lookupFails(n, rate)) failed += 1;
        expect(failed).toBe(Math.floor(n * rate + 1e-9));
      }
    }
  });
});
