import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReleaseView, ReleaseWhyView, RollbackAuthorizationView } from '@lockgate/api';
import { createCliWorld } from './cli-harness.ts';
import type { CliResult, CliWorld } from './cli-harness.ts';

/** How long the controller may take to move a release; a bound, never an assertion on time. */
const SETTLE_MS = 20_000;

describe('the CLI tells the truth: why a release waits, names beside digests, rollback authorizations', () => {
  let world: CliWorld;
  let digests: Record<string, string> = {};

  const lockgate = (...args: string[]): Promise<CliResult> => world.lockgate(...args);

  async function ok<T>(...args: string[]): Promise<T> {
    const result = await lockgate(...args, '--json');
    expect(result.stderr, `stderr of lockgate ${args.join(' ')}`).toBe('');
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout) as T;
  }

  async function text(...args: string[]): Promise<string> {
    const result = await lockgate(...args);
    expect(result.stderr, `stderr of lockgate ${args.join(' ')}`).toBe('');
    expect(result.code).toBe(0);
    return result.stdout;
  }

  async function api(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${world.server.url}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${world.adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const answer = await response.text();
    expect(response.ok, `${method} ${path}: ${answer}`).toBe(true);
    return answer === '' ? undefined : (JSON.parse(answer) as unknown);
  }

  async function settle(
    id: string,
    predicate: (release: ReleaseView, why: ReleaseWhyView | null) => boolean,
  ): Promise<{ release: ReleaseView; why: ReleaseWhyView | null }> {
    const deadline = Date.now() + SETTLE_MS;
    let last: { release: ReleaseView; why: ReleaseWhyView | null } | undefined;
    while (Date.now() < deadline) {
      last = await ok<{ release: ReleaseView; why: ReleaseWhyView | null }>(
        'release',
        'status',
        id,
      );
      if (predicate(last.release, last.why)) return last;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`release ${id} did not settle: ${JSON.stringify(last)}`);
  }

  const label = (version: string): string => `${digests[version] ?? '?'} (kb@${version})`;

  beforeAll(async () => {
    world = await createCliWorld({
      prefix: 'truth-e2e',
      versions: ['1.0.0', '2.0.0', '3.0.0', '4.0.0'],
    });
    digests = world.digests;
    const dir = world.dir;
    await ok('env', 'create', 'prod-eu');
    await ok('channel', 'create', 'prod-eu/stable', '--floor', '2');
    await writeFile(
      join(dir, 'instant.json'),
      JSON.stringify({ stages: [{ name: 'all', percent: 100, soakSeconds: 0, gates: [] }] }),
    );
    await writeFile(
      join(dir, 'gated.json'),
      JSON.stringify({
        stages: [{ name: 'all', percent: 100, soakSeconds: 0, gates: [], approvals: 1 }],
      }),
    );
    await writeFile(
      join(dir, 'watched.json'),
      JSON.stringify({
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
                minSamples: 20,
              },
              // failed activations are judged by this gate, not counted as refusals that roll back
              {
                metric: 'activation_success_rate',
                op: '>=',
                threshold: 0.5,
                windowSeconds: 300,
                minTargets: 1,
                minSamples: 1,
              },
            ],
          },
        ],
      }),
    );
    for (const plan of ['instant', 'gated', 'watched']) {
      await ok('plan', 'set', plan, '--file', `${plan}.json`);
    }
  });

  afterAll(async () => {
    await world?.close();
  });

  it('tells users to authorize a rollback with a command that exists, and rollback-auth does it once', async () => {
    const pin = await lockgate(
      'pin',
      'set',
      'prod-eu/stable',
      'kb@1.0.0',
      '--reason',
      'incident 42',
      '--expires',
      '1h',
    );
    expect(pin.code).toBe(1);
    expect(pin.stderr).toContain('lockgate rollback-auth add prod-eu/stable kb@1.0.0');

    const added = await lockgate(
      'rollback-auth',
      'add',
      'prod-eu/stable',
      'kb@1.0.0',
      '--reason',
      'incident 42',
      '--expires',
      '24h',
    );
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(
      new RegExp(
        `^authorized in prod-eu/stable: rba_\\S+ {2}sha256:[0-9a-f]{64} \\(kb@1\\.0\\.0\\) {2}until `,
      ),
    );
    const again = await ok<{ rollbackAuthorization: RollbackAuthorizationView; created: boolean }>(
      'rollback-auth',
      'add',
      'prod-eu/stable',
      'kb@1.0.0',
      '--reason',
      'asked twice',
      '--expires',
      '24h',
    );
    expect(again.created).toBe(false);
    const { items } = await ok<{ items: RollbackAuthorizationView[] }>(
      'rollback-auth',
      'list',
      'prod-eu/stable',
    );
    expect(items).toHaveLength(1);
    expect(items[0]?.id).toBe(again.rollbackAuthorization.id);
    expect(await text('rollback-auth', 'list', 'prod-eu/stable')).toContain(label('1.0.0'));

    const pinned = await text(
      'pin',
      'set',
      'prod-eu/stable',
      'kb@1.0.0',
      '--reason',
      'incident 42',
      '--expires',
      '1h',
    );
    expect(pinned).toMatch(
      new RegExp(`to ${digests['1.0.0'] ?? '?'} until \\S+ \\(kb@1\\.0\\.0\\)`),
    );
    const shown = await text('channel', 'show', 'prod-eu/stable');
    expect(shown).toMatch(
      new RegExp(`whole channel → ${digests['1.0.0'] ?? '?'} until \\S+ \\(kb@1\\.0\\.0\\)`),
    );
    expect(shown).toContain(`${items[0]?.id ?? '?'}  ${label('1.0.0')} until`);
    const refused = await lockgate(
      'rollback-auth',
      'revoke',
      'prod-eu/stable',
      items[0]?.id ?? '?',
      '--reason',
      'done',
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^CONFLICT: /);
    expect(await text('pin', 'clear', 'prod-eu/stable', '--reason', 'incident over')).toContain(
      `(was ${label('1.0.0')})`,
    );
    expect(
      await text(
        'rollback-auth',
        'revoke',
        'prod-eu/stable',
        items[0]?.id ?? '?',
        '--reason',
        'done',
      ),
    ).toContain(`(was ${label('1.0.0')})`);
    expect(await text('rollback-auth', 'list', 'prod-eu/stable')).toBe(
      'no rollback authorizations in prod-eu/stable\n',
    );
    const gone = await lockgate(
      'rollback-auth',
      'revoke',
      'prod-eu/stable',
      items[0]?.id ?? '?',
      '--reason',
      'again',
    );
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^ROLLBACK_AUTHORIZATION_NOT_FOUND: /);
  });

  it('marks revoked packs in pack list and pack show', async () => {
    await ok('pack', 'revoke', digests['3.0.0'] ?? '?', '--reason', 'corrupt index');
    const listed = await text('pack', 'list', '--name', 'kb');
    expect(listed).toMatch(/^kb@3\.0\.0 .* REVOKED \S+: corrupt index$/m);
    expect(listed).toMatch(/^kb@4\.0\.0 {2}sequence 4 {2}sha256:[0-9a-f]{64} {2}pushed \S+$/m);
    const json = await ok<{ items: { version: string; revoked?: { reason: string } }[] }>(
      'pack',
      'list',
      '--name',
      'kb',
    );
    expect(json.items.find((p) => p.version === '3.0.0')?.revoked?.reason).toBe('corrupt index');
    expect(json.items.find((p) => p.version === '4.0.0')?.revoked).toBeUndefined();
    const shown = await text('pack', 'show', 'kb@3.0.0');
    expect(shown).toMatch(/^kb@3\.0\.0 {2}sequence 3 {2}REVOKED$/m);
    expect(shown).toContain('corrupt index');
    expect(await text('pack', 'show', 'kb@4.0.0')).not.toContain('REVOKED');
  });

  it('follows a release with --wait: exit 0 when it completed, 1 when it waits for a person', async () => {
    const done = await lockgate(
      'release',
      'create',
      'kb@2.0.0',
      '--to',
      'prod-eu/stable',
      '--plan',
      'instant',
      '--reason',
      'first',
      '--wait',
    );
    expect(done.stderr).toBe('');
    expect(done.code).toBe(0);
    expect(done.stdout).toContain(`requested release rel_`);
    expect(done.stdout).toContain(`: ${label('2.0.0')} into prod-eu/stable`);
    expect(done.stdout).toMatch(/^release rel_\S+ {2}completed$/m);

    const waiting = await lockgate(
      'release',
      'create',
      'kb@4.0.0',
      '--to',
      'prod-eu/stable',
      '--plan',
      'gated',
      '--reason',
      'needs a second pair of eyes',
      '--wait',
    );
    expect(waiting.code).toBe(1);
    expect(waiting.stderr).toMatch(
      /^RELEASE_NOT_COMPLETED: Release rel_\S+ is rolling: stage 1 all waits for approvals: 0\/1\.$/m,
    );
    expect(waiting.stdout).toContain('  - stage 1 all waits for approvals: 0/1');
    const id = /^release (rel_\S+) {2}rolling$/m.exec(waiting.stdout)?.[1] ?? '?';
    await ok('release', 'abort', id, '--reason', 'not today');
  });

  it('says why a release is not moving: targets, gate values, agent refusals, freeze', async () => {
    for (const id of ['t-1', 't-2', 't-3']) {
      await api('PUT', `/targets/${id}`, { env: 'prod-eu', channel: 'stable', labels: {} });
    }
    const { release } = await ok<{ release: ReleaseView }>(
      'release',
      'create',
      'kb@4.0.0',
      '--to',
      'prod-eu/stable',
      '--plan',
      'watched',
      '--reason',
      'watch it',
    );
    await settle(release.id, (r) => r.state === 'rolling' && r.stageStartedAt !== null);
    const at = new Date().toISOString();
    for (const id of ['t-1', 't-2']) {
      await api('POST', `/targets/${id}/reports`, {
        activePack: digests['4.0.0'],
        lastAttempt: { kind: 'activate', pack: digests['4.0.0'], result: 'ok', at },
        health: { requests: 100, errors: 1 },
      });
    }
    await api('POST', `/targets/t-3/reports`, {
      activePack: digests['2.0.0'],
      lastAttempt: {
        kind: 'activate',
        pack: digests['4.0.0'],
        result: 'failed',
        code: 'HEALTH_CHECK_FAILED',
        at,
      },
    });
    const until = new Date(Date.now() + 3_600_000).toISOString();
    await ok(
      'env',
      'freeze',
      'prod-eu',
      '--reason',
      'launch day',
      '--from',
      new Date(Date.now() - 60_000).toISOString(),
      '--until',
      until,
    );

    const status = await text('release', 'status', release.id);
    expect(status).toContain(`pack      ${digests['4.0.0'] ?? '?'} (kb@4.0.0, sequence 4)`);
    expect(status).toContain(`base      ${label('2.0.0')}`);
    expect(status).toContain('targets   3 in stage 1 all, 2 running the pack, 3 in the channel');
    expect(status).toMatch(/^ {2}pass {9}error_rate 0\.010 <= 0\.050 \(targets 2, samples 200\)$/m);
    expect(status).toContain('refused   by 1 target(s):');
    expect(status).toContain('  activate HEALTH_CHECK_FAILED ×1 (t-3)');
    expect(status).toMatch(/^freeze {4}\S+ until \S+: launch day$/m);
    expect(status).toContain('  - 1 target(s) refused the pack: activate HEALTH_CHECK_FAILED ×1');
    expect(status).toMatch(/^ {2}- soak: \S+ left$/m);

    expect(await text('channel', 'list', 'prod-eu')).toContain(`base ${label('2.0.0')}  index`);
    expect(await text('env', 'show', 'prod-eu')).toContain(`base ${label('2.0.0')}  index`);
    const listed = await text('release', 'list', '--channel', 'stable');
    expect(listed).toContain(`rolling  stage 1/1 100%  ${label('4.0.0')}  by admin`);
    const targets = await text('target', 'list', '--env', 'prod-eu');
    expect(targets).toMatch(
      new RegExp(`^t-1 .* active sha256:[0-9a-f]{64} \\(kb@4\\.0\\.0\\) `, 'm'),
    );

    // A verification refusal is evidence against the stage: the release rolls back, and its
    // status says which code on how many targets, even during the freeze.
    await api('POST', `/targets/t-3/reports`, {
      activePack: digests['2.0.0'],
      lastAttempt: {
        kind: 'verify',
        pack: digests['4.0.0'],
        result: 'failed',
        code: 'PACK_INCOMPATIBLE',
        at: new Date().toISOString(),
      },
    });
    await settle(release.id, (r) => r.state === 'rolled_back');
    const ended = await text('release', 'status', release.id);
    expect(ended).toContain('outcome   agents refused the pack: PACK_INCOMPATIBLE on 1 target(s)');
  });
});
