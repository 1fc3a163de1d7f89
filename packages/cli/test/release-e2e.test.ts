import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePublicKey } from '@lockgate/core';
import { loadServerConfig, startServer } from '@lockgate/server';
import type { RunningServer } from '@lockgate/server';
import type {
  ChannelView,
  DecisionRecordView,
  PinView,
  ReleaseView,
  TargetView,
} from '@lockgate/api';
import type { ReleaseProgress } from '../src/release-format.ts';
import { makeTempDir, runCli } from './cli-harness.ts';
import type { CliResult } from './cli-harness.ts';

/** How long the controller may take to move a release; a bound, never an assertion on time. */
const SETTLE_MS = 20_000;
const TARGETS = 10;

interface Built {
  digest: string;
}

describe('release commands end to end against an in-process server', () => {
  const adminToken = randomBytes(24).toString('hex');
  let temp: { dir: string; remove: () => Promise<void> };
  let server: RunningServer;

  const lockgate = (...args: string[]): Promise<CliResult> =>
    runCli(args, {
      cwd: temp.dir,
      env: { LOCKGATE_SERVER: server.url, LOCKGATE_TOKEN: adminToken },
      now: new Date(),
    });

  /** Runs a command that must succeed with --json and returns its document. */
  async function ok<T>(...args: string[]): Promise<T> {
    const result = await lockgate(...args, '--json');
    expect(result.stderr, `stderr of lockgate ${args.join(' ')}`).toBe('');
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout) as T;
  }

  /** Runs a command that the server must refuse with this code (exit 1). */
  async function refused(code: string, ...args: string[]): Promise<CliResult> {
    const result = await lockgate(...args);
    expect(result.stderr, `lockgate ${args.join(' ')}`).toMatch(new RegExp(`^${code}: `));
    expect(result.code).toBe(1);
    return result;
  }

  async function api(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${server.url}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    expect(response.ok, `${method} ${path}: ${text}`).toBe(true);
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  }

  /** Polls `release status` until the release is in `state` (or fails after SETTLE_MS). */
  async function settle(id: string, predicate: (release: ReleaseView) => boolean, what: string) {
    const deadline = Date.now() + SETTLE_MS;
    let last: ReleaseView | undefined;
    while (Date.now() < deadline) {
      last = (await ok<{ release: ReleaseView }>('release', 'status', id)).release;
      if (predicate(last)) {
        return last;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`release ${id} did not become ${what}: ${JSON.stringify(last)}`);
  }

  const inState = (state: string) => (release: ReleaseView) => release.state === state;

  async function buildPack(version: string, sequence: number): Promise<string> {
    await writeFile(join(temp.dir, 'src', 'version.txt'), `${version}\n`);
    const built = await ok<Built>(
      'pack',
      'build',
      'src',
      '--name',
      'kb',
      '--version',
      version,
      '--sequence',
      String(sequence),
      '--key',
      'keys/ci.key',
      '--gate',
      'tests=PASS',
      '--out',
      `kb-${version}.pack`,
    );
    await ok('pack', 'push', `kb-${version}.pack`);
    return built.digest;
  }

  let v1 = '';
  let v2 = '';
  let v3 = '';

  beforeAll(async () => {
    temp = await makeTempDir('release-e2e');
    await mkdir(join(temp.dir, 'src'));
    await writeFile(join(temp.dir, 'src', 'index.json'), '{"entries": 1}\n');
    const config = loadServerConfig(
      { data: join(temp.dir, 'data'), port: 0, logLevel: 'silent', controllerInterval: 20 },
      { LOCKGATE_ADMIN_TOKEN: adminToken },
    );
    server = await startServer(config);
  });

  afterAll(async () => {
    await server?.close();
    await temp?.remove();
  });

  it('trusts a build key and pushes three versions of a pack', async () => {
    await ok('keys', 'generate', '--out', 'keys', '--name', 'ci');
    await ok('trust', 'add', 'keys/ci.pub', '--name', 'ci');
    v1 = await buildPack('1.0.0', 1);
    v2 = await buildPack('2.0.0', 2);
    v3 = await buildPack('3.0.0', 3);
    expect(new Set([v1, v2, v3]).size).toBe(3);
  });

  it('creates an environment once, then updates it, and lists it', async () => {
    const created = await ok<{ created: boolean; environment: { name: string } }>(
      'env',
      'create',
      'prod-eu',
      '--description',
      'Production, EU',
    );
    expect(created).toMatchObject({ created: true, environment: { name: 'prod-eu' } });
    const again = await ok<{ created: boolean }>('env', 'create', 'prod-eu');
    expect(again.created).toBe(false);
    const list = await lockgate('env', 'list');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^prod-eu {2}Production, EU {2}created /m);
  });

  it('adds a freeze window, shows it, and removes it with a reason', async () => {
    const { freezeWindow } = await ok<{ freezeWindow: { id: string; kind: string } }>(
      'env',
      'freeze',
      'prod-eu',
      '--reason',
      'year-end change freeze',
      '--weekly',
      'sat,sun',
      '--start',
      '00:00',
      '--duration',
      '1h',
    );
    expect(freezeWindow.kind).toBe('weekly');
    const shown = await lockgate('env', 'show', 'prod-eu');
    expect(shown.stdout).toContain(
      `${freezeWindow.id}  weekly sat,sun 00:00 UTC for 1h  year-end change freeze`,
    );
    await ok('env', 'unfreeze', 'prod-eu', freezeWindow.id, '--reason', 'freeze not needed');
    const after = await lockgate('env', 'show', 'prod-eu');
    expect(after.stdout).toContain('freeze windows: none');
    await refused('NOT_FOUND', 'env', 'unfreeze', 'prod-eu', freezeWindow.id, '--reason', 'again');
  });

  it('sets plans from files and shows them', async () => {
    await writeFile(
      join(temp.dir, 'gated.json'),
      JSON.stringify({
        stages: [
          { name: 'first', percent: 50, soakSeconds: 3600, gates: [], approvals: 1 },
          { name: 'all', percent: 100, soakSeconds: 3600, gates: [] },
        ],
      }),
    );
    await writeFile(
      join(temp.dir, 'fragile.json'),
      JSON.stringify({
        name: 'fragile',
        stages: [
          {
            name: 'all',
            percent: 100,
            soakSeconds: 3600,
            gates: [
              {
                metric: 'error_rate',
                op: '<=',
                threshold: 0.05,
                windowSeconds: 300,
                minTargets: 1,
                minSamples: 100,
              },
            ],
          },
        ],
      }),
    );
    await writeFile(
      join(temp.dir, 'bad.json'),
      JSON.stringify({ stages: [{ name: 'half', percent: 50, soakSeconds: -1, gates: [] }] }),
    );
    expect(
      (await ok<{ created: boolean }>('plan', 'set', 'gated', '--file', 'gated.json')).created,
    ).toBe(true);
    await ok('plan', 'set', 'fragile', '--file', 'fragile.json');
    await writeFile(
      join(temp.dir, 'manual.json'),
      JSON.stringify({ stages: [{ name: 'all', percent: 100, soakSeconds: 3600, gates: [] }] }),
    );
    await ok('plan', 'set', 'manual', '--file', 'manual.json');
    const bad = await refused('PLAN_INVALID', 'plan', 'set', 'broken', '--file', 'bad.json');
    // Two problems (a negative soak, a last stage short of 100%): each is listed on its own line.
    expect(bad.stderr).toMatch(/\n {2}- .*soakSeconds/);
    expect(bad.stderr).toMatch(/\n {2}- the last stage must reach 100%/);
    await refused('PLAN_INVALID', 'plan', 'set', 'canary', '--file', 'gated.json');

    const list = await lockgate('plan', 'list');
    expect(list.stdout).toMatch(/^canary {2}10% → 50% → 100%/m);
    expect(list.stdout).toMatch(/^gated {2}50% → 100%/m);
    const shown = await lockgate('plan', 'show', 'fragile');
    expect(shown.stdout).toContain(
      '1. all: 100%, soak 1h; error_rate <= 0.05 over 5m (targets ≥ 1, samples ≥ 100)',
    );
    await refused('PLAN_NOT_FOUND', 'plan', 'show', 'missing');
  });

  it('creates a channel with cohorts and constraints, updates it, and shows it', async () => {
    const { channel, created } = await ok<{ channel: ChannelView; created: boolean }>(
      'channel',
      'create',
      'prod-eu/stable',
      '--plan',
      'canary',
      '--cohort',
      'eu-west=zone=west',
      '--cohort',
      'early=ring in (early)',
      '--cohort-percent',
      'early=50',
      '--index-ttl',
      '12h',
    );
    expect(created).toBe(true);
    expect(channel).toMatchObject({
      env: 'prod-eu',
      name: 'stable',
      plan: 'canary',
      floor: null,
      cohorts: [
        { name: 'eu-west', selector: { matchLabels: { zone: 'west' } } },
        {
          name: 'early',
          selector: { matchExpressions: [{ key: 'ring', operator: 'In', values: ['early'] }] },
          percent: 50,
        },
      ],
      indexTtlSeconds: 43_200,
      base: null,
      activeRelease: null,
    });
    const updated = await ok<{ channel: ChannelView; created: boolean }>(
      'channel',
      'create',
      'prod-eu/stable',
      '--floor',
      '1',
      '--reason',
      'no going back to 0.x',
    );
    expect(updated.created).toBe(false);
    expect(updated.channel).toMatchObject({ floor: 1, plan: 'canary', indexTtlSeconds: 43_200 });

    const shown = await lockgate('channel', 'show', 'prod-eu/stable');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('channel prod-eu/stable');
    expect(shown.stdout).toContain('floor          1');
    expect(shown.stdout).toContain(
      'cohorts        eu-west (zone=west); early (ring in (early), 50%)',
    );
    expect(shown.stdout).toContain('index ttl      12h');
    expect(shown.stdout).toContain('active release none');

    const list = await ok<{ items: ChannelView[] }>('channel', 'list');
    expect(list.items.map((c) => `${c.env}/${c.name}`)).toEqual(['prod-eu/stable']);
    await refused('CHANNEL_NOT_FOUND', 'channel', 'show', 'prod-eu/missing');
    await refused('ENVIRONMENT_NOT_FOUND', 'channel', 'create', 'nowhere/stable');
    await refused('PLAN_NOT_FOUND', 'channel', 'create', 'prod-eu/stable', '--plan', 'nope');
  });

  it('lists the targets registered through the API with their labels', async () => {
    for (let i = 0; i < TARGETS; i += 1) {
      await api('PUT', `/targets/t-${String(i).padStart(2, '0')}`, {
        env: 'prod-eu',
        channel: 'stable',
        labels: { zone: i % 2 === 0 ? 'west' : 'east' },
      });
    }
    const { items } = await ok<{ items: TargetView[] }>(
      'target',
      'list',
      '--env',
      'prod-eu',
      '--channel',
      'stable',
    );
    expect(items).toHaveLength(TARGETS);
    const text = await lockgate('target', 'list', '--env', 'prod-eu');
    expect(text.stdout).toMatch(
      /^t-00 {2}prod-eu\/stable {2}zone=west {2}active none {2}last report never$/m,
    );
  });

  let first = '';

  it('rolls a release through pause, resume and promote --full to completion', async () => {
    const { release } = await ok<{ release: ReleaseView }>(
      'release',
      'create',
      'kb@1.0.0',
      '--to',
      'prod-eu/stable',
      '--reason',
      'first index',
      '--idempotency-key',
      'first-release',
    );
    first = release.id;
    expect(release).toMatchObject({ pack: v1, env: 'prod-eu', channel: 'stable' });
    const repeated = await ok<{ release: ReleaseView }>(
      'release',
      'create',
      'kb@1.0.0',
      '--to',
      'prod-eu/stable',
      '--reason',
      'first index',
      '--idempotency-key',
      'first-release',
    );
    expect(repeated.release.id).toBe(first);

    const rolling = await settle(
      first,
      (r) => r.state === 'rolling' && r.stageStartedAt !== null,
      'rolling',
    );
    expect(rolling.stageIndex).toBe(0);
    const status = await lockgate('release', 'status', first);
    expect(status.stdout).toContain(`release ${first}  rolling`);
    expect(status.stdout).toContain('stage     1/3 canary: 10% of the channel, started ');
    expect(status.stdout).toMatch(/soak {6}(10m|9m\d+s) remaining/);
    expect(status.stdout).toContain('requested by admin');
    const progress = await ok<{ progress: ReleaseProgress }>('release', 'status', first);
    expect(progress.progress.stage).toMatchObject({ number: 1, of: 3, percent: 10 });

    await refused(
      'RELEASE_CONFLICT',
      'release',
      'create',
      'kb@2.0.0',
      '--to',
      'prod-eu/stable',
      '--reason',
      'too soon',
    );
    await refused('RELEASE_STATE_INVALID', 'release', 'resume', first, '--reason', 'not paused');
    await refused(
      'RELEASE_STATE_INVALID',
      'release',
      'approve',
      first,
      '--reason',
      'nothing to approve',
    );

    const paused = await ok<{ release: ReleaseView }>(
      'release',
      'pause',
      first,
      '--reason',
      'watch the dashboards',
    );
    expect(paused.release).toMatchObject({ state: 'paused', pausedReason: 'watch the dashboards' });
    const pausedStatus = await lockgate('release', 'status', first);
    expect(pausedStatus.stdout).toContain('paused    watch the dashboards');
    expect(
      (
        await ok<{ release: ReleaseView }>(
          'release',
          'resume',
          first,
          '--reason',
          'dashboards fine',
        )
      ).release.state,
    ).toBe('rolling');

    const promoted = await ok<{ release: ReleaseView }>(
      'release',
      'promote',
      first,
      '--full',
      '--reason',
      'urgent fix',
    );
    expect(promoted.release).toMatchObject({ state: 'rolling', stageIndex: 2 });
    const completed = await lockgate('release', 'promote', first, '--reason', 'all good');
    expect(completed.code).toBe(0);
    expect(completed.stdout).toContain(`promote: release ${first} is completed`);

    const { channel } = await ok<{ channel: ChannelView }>('channel', 'show', 'prod-eu/stable');
    expect(channel).toMatchObject({ base: v1, lkg: v1, activeRelease: null });
    const list = await ok<{ items: ReleaseView[] }>(
      'release',
      'list',
      '--env',
      'prod-eu',
      '--state',
      'completed',
    );
    expect(list.items.map((r) => r.id)).toEqual([first]);
    await refused('RELEASE_STATE_INVALID', 'release', 'pause', first, '--reason', 'too late');
  });

  it('prints the timeline one line per decision, and the raw hash-chained records with --json', async () => {
    const { items } = await ok<{ items: DecisionRecordView[] }>('release', 'timeline', first);
    expect(items.map((record) => record.rule)).toEqual(
      expect.arrayContaining([
        'release.start',
        'verification.passed',
        'stage.start',
        'command.pause',
        'command.resume',
        'command.promote',
      ]),
    );
    // Each record links to the one before it in the log: the timeline's previous record, or a
    // record of the release's evidence between them (a stage attestation).
    const evidence = await ok<{ checkpoints: { records: { seq: number; digest: string }[] }[] }>(
      'evidence',
      'show',
      first,
    );
    const digests = new Map(items.map((record) => [record.seq, record.digest]));
    for (const checkpoint of evidence.checkpoints) {
      for (const record of checkpoint.records) digests.set(record.seq, record.digest);
    }
    const seqs = [...digests.keys()].sort((a, b) => a - b);
    items.slice(1).forEach((record) => {
      const before = seqs[seqs.indexOf(record.seq) - 1] ?? -1;
      expect(record.prevDigest).toBe(digests.get(before));
    });

    const text = await lockgate('release', 'timeline', first);
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(items.length);
    expect(text.stdout).toMatch(
      /^\S+Z {2}command {2}command\.pause {2}rolling→paused {2}by admin {2}"watch the dashboards"/m,
    );
    expect(text.stdout).toMatch(
      / {2}command\.promote {2}rolling→rolling \(advanced\) {2}by admin {2}"urgent fix" {2}stage 1 canary 10% → stage 3 all 100%/,
    );
    expect(text.stdout).toMatch(
      / {2}command\.promote {2}rolling→completed {2}by admin {2}"all good"/,
    );
  });

  it('refuses a self-approval, shows the wait, and aborts', async () => {
    const { release } = await ok<{ release: ReleaseView }>(
      'release',
      'create',
      v2,
      '--to',
      'prod-eu/stable',
      '--plan',
      'gated',
      '--reason',
      'needs a second pair of eyes',
    );
    await settle(release.id, inState('rolling'), 'rolling');
    const status = await lockgate('release', 'status', release.id);
    expect(status.stdout).toContain(
      'approvals stage 1 first: 0/1 (none yet), waiting for approval',
    );
    const self = await refused(
      'APPROVAL_SELF',
      'release',
      'approve',
      release.id,
      '--reason',
      'lgtm',
      '--json',
    );
    expect(JSON.parse(self.stdout)).toMatchObject({ error: { code: 'APPROVAL_SELF' } });
    await refused(
      'RELEASE_STATE_INVALID',
      'release',
      'promote',
      release.id,
      '--reason',
      'skip the approval',
    );
    expect(
      (
        await ok<{ release: ReleaseView }>(
          'release',
          'abort',
          release.id,
          '--reason',
          'no approver today',
        )
      ).release.state,
    ).toBe('aborted');
    await refused('RELEASE_STATE_INVALID', 'release', 'abort', release.id, '--reason', 'twice');
  });

  it('rolls back on a failing health gate and shows the measured value in the timeline', async () => {
    // Every target reports the new pack failing 20% of requests before the release starts, so the
    // first evaluation of the gate sees all of them.
    for (let i = 0; i < TARGETS; i += 1) {
      await api('POST', `/targets/t-${String(i).padStart(2, '0')}/reports`, {
        activePack: v2,
        health: { requests: 100, errors: 20 },
      });
    }
    const { release } = await ok<{ release: ReleaseView }>(
      'release',
      'create',
      'kb@2.0.0',
      '--to',
      'prod-eu/stable',
      '--plan',
      'fragile',
      '--reason',
      'risky change',
    );
    const rolledBack = await settle(release.id, inState('rolled_back'), 'rolled back');
    expect(rolledBack.outcome).toMatchObject({ rollbackTo: v1 });

    const text = await lockgate('release', 'timeline', release.id);
    expect(text.stdout).toMatch(
      new RegExp(
        `health {2}gate\\.failed {2}rolling→rolled_back {2}by controller {2}stage 1 all 100%; error_rate 0\\.200 > 0\\.050 \\(targets ${TARGETS}, samples ${TARGETS * 100}\\); rollback to ${v1}`,
      ),
    );
    const status = await lockgate('release', 'status', release.id);
    expect(status.stdout).toContain('outcome   health gate failed: error_rate');
    expect(status.stdout).toContain(`rolled back to ${v1}`);
    await refused(
      'RELEASE_STATE_INVALID',
      'release',
      'rollback',
      release.id,
      '--reason',
      'already',
    );
    await refused(
      'RELEASE_STATE_INVALID',
      'release',
      'retry',
      release.id,
      '--reason',
      'not failed',
    );
  });

  it('rolls back by hand to the last-known-good pack', async () => {
    const { release } = await ok<{ release: ReleaseView }>(
      'release',
      'create',
      v2,
      '--to',
      'prod-eu/stable',
      '--plan',
      'manual',
      '--reason',
      'second try',
    );
    await settle(release.id, (r) => r.state === 'rolling' && r.stageStartedAt !== null, 'rolling');
    const rolledBack = await ok<{ release: ReleaseView }>(
      'release',
      'rollback',
      release.id,
      '--reason',
      'customers complain',
    );
    expect(rolledBack.release).toMatchObject({
      state: 'rolled_back',
      outcome: { rollbackTo: v1, summary: 'rolled back by admin' },
    });
    const text = await lockgate('release', 'timeline', release.id);
    expect(text.stdout).toContain(
      `command.rollback  rolling→rolled_back  by admin  "customers complain"  rollback to ${v1}`,
    );
  });

  it('sets and clears pins, and refuses invalid ones', async () => {
    const { pin } = await ok<{ pin: PinView }>(
      'pin',
      'set',
      'prod-eu/stable',
      'kb@1.0.0',
      '--reason',
      'hold during incident',
      '--expires',
      '24h',
    );
    expect(pin).toMatchObject({ cohort: '_', pack: v1, reason: 'hold during incident' });
    const cohortPin = await lockgate(
      'pin',
      'set',
      'prod-eu/stable/eu-west',
      v1,
      '--reason',
      'west holds',
      '--expires',
      '2h',
    );
    expect(cohortPin.stdout).toContain(
      `pinned prod-eu/stable/eu-west (cohort eu-west (zone=west)) to ${v1} until `,
    );
    const shown = await lockgate('channel', 'show', 'prod-eu/stable');
    expect(shown.stdout).toContain(`  whole channel → ${v1} until `);
    expect(shown.stdout).toContain('by admin: hold during incident');

    // A percentage cohort can be pinned (it holds the targets of its channel-salted bucket).
    const percentPin = await lockgate(
      'pin',
      'set',
      'prod-eu/stable/early',
      v1,
      '--reason',
      'a percentage cohort',
      '--expires',
      '1h',
    );
    expect(percentPin.code).toBe(0);
    await ok('pin', 'clear', 'prod-eu/stable/early', '--reason', 'done');
    await refused(
      'PIN_INVALID',
      'pin',
      'set',
      'prod-eu/stable/nobody',
      v1,
      '--reason',
      'no such cohort',
      '--expires',
      '1h',
    );
    await refused(
      'PIN_INVALID',
      'pin',
      'set',
      'prod-eu/stable',
      v1,
      '--reason',
      'in the past',
      '--expires',
      '2020-01-01T00:00:00Z',
    );
    await refused(
      'PACK_NOT_FOUND',
      'pin',
      'set',
      'prod-eu/stable',
      'kb@9.9.9',
      '--reason',
      'no such pack',
      '--expires',
      '1h',
    );

    const cleared = await ok<{ pin: PinView }>(
      'pin',
      'clear',
      'prod-eu/stable',
      '--reason',
      'incident over',
    );
    expect(cleared.pin.pack).toBe(v1);
    await ok('pin', 'clear', 'prod-eu/stable/eu-west', '--reason', 'incident over');
    await refused('PIN_NOT_FOUND', 'pin', 'clear', 'prod-eu/stable', '--reason', 'again');
  });

  it('revokes a pack, which then cannot be pinned or released', async () => {
    const revoked = await lockgate('pack', 'revoke', v3, '--reason', 'leaked credentials');
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain(`revoked ${v3}`);
    await refused(
      'PACK_REVOKED',
      'pin',
      'set',
      'prod-eu/stable',
      v3,
      '--reason',
      'revoked',
      '--expires',
      '1h',
    );
    await refused(
      'PACK_NOT_FOUND',
      'pack',
      'revoke',
      `sha256:${'0'.repeat(64)}`,
      '--reason',
      'unknown',
    );
  });

  it('fetches the channel-index key and writes its PEM once', async () => {
    const { items, file } = await ok<{ items: { keyId: string; use: string }[]; file: string }>(
      'server',
      'keys',
      '--out',
      'server.pub',
    );
    expect(items).toHaveLength(1);
    expect(items[0]?.use).toBe('channel-index');
    const pem = await readFile(file, 'utf8');
    expect(parsePublicKey(pem).keyId).toBe(items[0]?.keyId);
    await refused('FILE_EXISTS', 'server', 'keys', '--out', 'server.pub');
    const shown = await lockgate('server', 'keys');
    expect(shown.stdout).toContain(`${items[0]?.keyId}  channel-index`);
    expect(shown.stdout).toContain('-----BEGIN PUBLIC KEY-----');
  });
});
