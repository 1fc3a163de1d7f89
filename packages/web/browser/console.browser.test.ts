/**
 * The console in Debian's chromium against a real server process: sign in with the one-time
 * link, follow a release that simulated targets move through its stages, pause and resume it,
 * see a refusal's code beside the control, roll a running release back and a completed one to an
 * earlier pack (from its Run screen's "Roll back to the LKG…" link), each time checking the
 * preview against what the targets are then told, sign in as a viewer who sees no action button
 * (and whom the server refuses anyway), export a release's evidence and verify the bundle with
 * the command the screen shows, replay a release and a chosen verdict, schedule a release and see
 * its preconditions, stop the line and lift it from the Schedule screen, check every screen with
 * axe-core, and write a screenshot of each screen to docs/console/ (linked from the README).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePack, newSigner } from '../../server/test/helpers/packs.ts';
import {
  CLI_MAIN,
  eventually,
  QUICK_ERROR_GATE,
  startServerProcess,
} from '../../server/test/helpers/server-process.ts';
import type { ServerProcess } from '../../server/test/helpers/server-process.ts';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = fileURLToPath(new URL('../../../docs/console/', import.meta.url));
const BUILT = fileURLToPath(new URL('../dist/index.html', import.meta.url));
const TARGETS = Array.from({ length: 12 }, (_, i) => `web-${String(i).padStart(2, '0')}`);
// CI installs chromium (.ci/run); elsewhere the suite runs when chromium is there.
const run = process.env['CI'] === 'true' || existsSync(CHROMIUM);

describe.runIf(run)('the console in chromium against a real server', () => {
  let dataDir: string;
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let token = '';
  let signInUrl = '';
  let fleetStopped = false;
  let fleet: Promise<void> = Promise.resolve();
  const digests: Record<string, string> = {};
  let rolledBack = '';
  let completed = '';

  const api = async <T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> => {
    const response = await fetch(`${server.url}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: (text === '' ? {} : JSON.parse(text)) as T };
  };

  /** Each target asks what to run, runs it, and reports healthy traffic, until stopped. */
  const startFleet = (): void => {
    const running = new Map<string, string>();
    fleet = (async () => {
      while (!fleetStopped) {
        for (const id of TARGETS) {
          try {
            const desired = await api<{ pack: string | null }>('GET', `/targets/${id}/desired`);
            const want = desired.body.pack;
            const attempt =
              want !== null && want !== running.get(id)
                ? { kind: 'activate', pack: want, result: 'ok', at: new Date().toISOString() }
                : undefined;
            if (want !== null) running.set(id, want);
            await api('POST', `/targets/${id}/reports`, {
              activePack: running.get(id) ?? null,
              ...(attempt === undefined ? {} : { lastAttempt: attempt }),
              health: { requests: 20, errors: 0 },
            });
          } catch {
            // the server is stopping
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    })();
  };

  /** The pack each target is told to run now. */
  const desired = async (): Promise<Map<string, string | null>> => {
    const out = new Map<string, string | null>();
    for (const target of TARGETS) {
      out.set(
        target,
        (await api<{ pack: string | null }>('GET', `/targets/${target}/desired`)).body.pack,
      );
    }
    return out;
  };

  const shot = async (name: string): Promise<void> => {
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  };

  /** No serious or critical axe-core violations on the page as shown. */
  const accessible = async (screen: string): Promise<void> => {
    const source = await readFile(
      fileURLToPath(import.meta.resolve('axe-core/axe.min.js')),
      'utf8',
    );
    await page.evaluate(source);
    const violations = await page.evaluate(async () => {
      const axe = (
        globalThis as unknown as {
          axe: { run(): Promise<{ violations: { id: string; impact: string; help: string }[] }> };
        }
      ).axe;
      const result = await axe.run();
      return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help }));
    });
    expect(
      violations.filter((v) => v.impact === 'serious' || v.impact === 'critical'),
      `${screen}: ${JSON.stringify(violations)}`,
    ).toEqual([]);
  };

  beforeAll(async () => {
    if (!existsSync(BUILT))
      throw new Error('the console is not built: npm run build -w @lockgate/web');
    await mkdir(SHOTS, { recursive: true });
    dataDir = await mkdtemp(join(tmpdir(), 'lockgate-web-'));
    // No configured admin token: the server generates one and prints the one-time sign-in link.
    server = await startServerProcess(['--data', dataDir, '--controller-interval', '100'], {
      LOCKGATE_ADMIN_TOKEN: '',
    });
    token = /Generated admin token[^\n]*\n(\S+)/.exec(server.output())?.[1] ?? '';
    signInUrl = /(http:\/\/\S+\/sign-in#code=\S+)/.exec(server.output())?.[1] ?? '';
    expect(token).not.toBe('');
    expect(signInUrl).not.toBe('');

    const signer = newSigner();
    expect((await api('POST', '/trust/keys', { publicKeyPem: signer.publicKeyPem })).status).toBe(
      201,
    );
    for (const n of [1, 2, 3]) {
      const pack = await makePack({
        signer,
        name: 'kb',
        version: `${n}.0.0`,
        sequence: n,
        buildId: `build-${n}`,
      });
      digests[`v${n}`] = pack.digest;
      const pushed = await fetch(`${server.url}/api/v1/packs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/gzip' },
        body: pack.bytes,
      });
      expect(pushed.status).toBe(201);
    }
    await api('PUT', '/environments/prod', {});
    await api('PUT', '/environments/prod/channels/stable', {});
    await api('PUT', '/plans/instant', {
      stages: [{ name: 'all', percent: 100, soakSeconds: 0, gates: [] }],
    });
    await api('PUT', '/plans/quick', {
      stages: [
        { name: 'canary', percent: 25, soakSeconds: 15, gates: [QUICK_ERROR_GATE] },
        { name: 'all', percent: 100, soakSeconds: 1, gates: [QUICK_ERROR_GATE] },
      ],
    });
    for (const id of TARGETS) {
      await api('PUT', `/targets/${id}`, {
        env: 'prod',
        channel: 'stable',
        labels: { zone: id.endsWith('1') ? 'a' : 'b' },
      });
    }
    const baseline = await api<{ release: { id: string } }>('POST', '/releases', {
      env: 'prod',
      channel: 'stable',
      pack: 'kb@1.0.0',
      plan: 'instant',
      reason: 'baseline kb 1.0.0',
    });
    await eventually('the baseline release', 30_000, async () =>
      (await api<{ release: { state: string } }>('GET', `/releases/${baseline.body.release.id}`))
        .body.release.state === 'completed'
        ? true
        : null,
    );
    startFleet();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  }, 120_000);

  afterAll(async () => {
    fleetStopped = true;
    await fleet;
    await browser?.close();
    await server?.kill();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('signs in with the one-time link, which keeps no code in the address bar and works once', async () => {
    await page.goto(signInUrl);
    await page.getByRole('heading', { name: 'Releases' }).waitFor();
    expect(page.url()).not.toContain('code=');
    expect(
      await page.evaluate(() =>
        (
          globalThis as unknown as { sessionStorage: { getItem(key: string): string | null } }
        ).sessionStorage.getItem('lockgate.token'),
      ),
    ).toBe(token);
    await accessible('releases');
    await shot('releases');
    const again = await browser.newPage();
    await again.goto(signInUrl);
    await again.getByRole('alert').waitFor();
    expect(await again.getByRole('alert').textContent()).toContain('UNAUTHORIZED');
    await again.screenshot({ path: join(SHOTS, 'sign-in.png') });
    await again.close();
  });

  it('follows a release live through its stages, with pause and resume', async () => {
    const created = await api<{ release: { id: string } }>('POST', '/releases', {
      env: 'prod',
      channel: 'stable',
      pack: 'kb@2.0.0',
      plan: 'quick',
      reason: 'kb 2.0.0 to stable',
    });
    const id = created.body.release.id;
    completed = id;
    await page.goto(`${server.url}/releases/${id}`);
    await page.getByRole('heading', { name: new RegExp(`Run ${id}`) }).waitFor();
    await page.getByText('RUNNING (', { exact: false }).first().waitFor({ timeout: 30_000 });
    await accessible('run');
    await shot('run-timeline');

    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByLabel('Reason for pause (required)').fill('checking the canary dashboards');
    await page.getByRole('button', { name: 'Confirm pause' }).click();
    await page.getByText('Paused: checking the canary dashboards').waitFor({ timeout: 15_000 });
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByLabel('Reason for resume (required)').fill('dashboards are fine');
    await page.getByRole('button', { name: 'Confirm resume' }).click();
    // Live: the page moves on by itself as the controller promotes and completes the release.
    await page
      .getByText('Completed: every target of the channel runs the pack.')
      .waitFor({ timeout: 60_000 });
    const marks = await page.locator('.timeline .mark').allTextContents();
    expect(marks.slice(0, 4)).toEqual(['✓', '✓', '✓', '✓']);
    await shot('run-completed');

    await page.getByRole('link', { name: /Deploy stage Deploy canary/ }).click();
    await page.getByRole('heading', { name: /Deploy stage canary 25%/ }).waitFor();
    await page.getByText(`${TARGETS.length} targets`).waitFor({ timeout: 15_000 });
    await accessible('stage');
    await shot('deploy-stage');

    await page.goto(`${server.url}/releases/${id}`);
    await page.getByRole('link', { name: /Step detail of Verified/ }).click();
    await page.getByRole('heading', { name: /Step detail: verification/ }).waitFor();
    await accessible('step');
    await shot('step-detail');
  }, 180_000);

  it("shows an operator's refused action with its code next to the control", async () => {
    await page.goto(`${server.url}/channels/prod/stable`);
    await page.getByRole('heading', { name: 'Channel prod / stable' }).waitFor();
    await page.getByLabel(/Pin the whole channel/).fill('kb@9.9.9');
    await page.getByRole('button', { name: 'Set pin' }).click();
    await page.getByLabel('Reason for set pin (required)').fill('hold');
    await page.getByRole('button', { name: 'Confirm set pin' }).click();
    // The refusal shows inside the pin form, beside the button that was refused.
    const alert = page.locator('.pin-form').getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/^PACK_NOT_FOUND /);
    expect(await page.getByRole('alert').count()).toBe(1);
    await accessible('channel');
    await shot('channel');
  });

  it('shows the channels, targets, packs and audit log screens without accessibility violations', async () => {
    for (const [path, heading, name] of [
      ['/channels', 'Channels', 'channels'],
      ['/targets', 'Targets', 'targets'],
      ['/packs', 'Packs', 'packs'],
      ['/audit', 'Audit log', 'audit-log'],
    ] as const) {
      await page.goto(`${server.url}${path}`);
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      await page.locator('table').first().waitFor({ timeout: 15_000 });
      await accessible(name);
      await shot(name);
    }
    expect(await page.getByText('✓ linked').count()).toBe(1);
  });

  it('rolls back with a reason, and the preview matches what the targets are then told', async () => {
    const created = await api<{ release: { id: string } }>('POST', '/releases', {
      env: 'prod',
      channel: 'stable',
      pack: 'kb@3.0.0',
      plan: 'quick',
      reason: 'kb 3.0.0 to stable',
    });
    const id = created.body.release.id;
    rolledBack = id;
    await eventually('the canary stage', 30_000, async () =>
      (
        await api<{ release: { currentStage: { startedAt: string | null } | null } }>(
          'GET',
          `/releases/${id}`,
        )
      ).body.release.currentStage?.startedAt
        ? true
        : null,
    );
    // Held at the canary so the preview and the rollback see the same channel.
    expect(
      (await api('POST', `/releases/${id}/pause`, { reason: 'hold for the preview' })).status,
    ).toBe(200);
    const before = await desired();
    const onCanary = [...before.values()].filter((p) => p === digests['v3']).length;
    expect(onCanary).toBeGreaterThan(0);

    await page.goto(`${server.url}/releases/${id}`);
    await page.getByRole('link', { name: 'Rollback / Re-run…' }).click();
    await page.getByRole('heading', { name: 'Rollback / Re-run' }).waitFor();
    await page.getByLabel(/Roll back the release/).check();
    const move = page.locator('[data-impact="move"]');
    await move.first().waitFor();
    expect(await move.allTextContents()).toEqual([
      `${onCanary} ${onCanary === 1 ? 'target' : 'targets'} on kb@3.0.0 → will run kb@2.0.0`,
    ]);
    await page.getByLabel('Reason (required)').fill('elevated latency on the canary');
    await page.getByLabel('Ticket (optional)').fill('INC-1234');
    await accessible('rollback');
    await shot('rollback');
    await page.getByRole('button', { name: 'Execute' }).click();
    // Back on the run: the timeline shows the rollback.
    await page.getByRole('heading', { name: new RegExp(`Run ${id}`) }).waitFor();
    await page.getByText('ROLLED BACK', { exact: false }).first().waitFor({ timeout: 15_000 });
    const after = await desired();
    const moved = TARGETS.filter((t) => before.get(t) !== after.get(t));
    expect(moved.length).toBe(onCanary);
    expect(
      moved.every((t) => before.get(t) === digests['v3'] && after.get(t) === digests['v2']),
    ).toBe(true);
    const last = (
      await api<{ items: { rule: string; reason: string | null }[] }>(
        'GET',
        `/releases/${id}/timeline`,
      )
    ).body.items.at(-1);
    expect(last).toMatchObject({
      rule: 'command.rollback',
      reason: 'elevated latency on the canary (ticket INC-1234)',
    });

    await page
      .getByRole('link', { name: /Step detail of/ })
      .last()
      .click();
    await page.getByRole('tab', { name: 'Artifacts' }).click();
    await page.getByRole('heading', { name: 'Pack manifest' }).waitFor();
    await page.getByText('kb@3.0.0 (sequence 3)', { exact: false }).waitFor({ timeout: 15_000 });
    await accessible('step-artifacts');
    await shot('step-artifacts');
  }, 120_000);

  it('rolls a completed release back to an earlier pack from its Run screen, as the preview said', async () => {
    const before = await desired();
    const onV2 = TARGETS.filter((t) => before.get(t) === digests['v2']);
    expect(onV2.length).toBe(TARGETS.length);

    await page.goto(`${server.url}/releases/${completed}`);
    await page.getByText('COMPLETED', { exact: false }).first().waitFor({ timeout: 15_000 });
    await page.getByRole('link', { name: 'Roll back to the LKG or an earlier pack…' }).click();
    await page.getByRole('heading', { name: 'Rollback / Re-run' }).waitFor();
    expect(await page.getByRole('radio', { checked: true }).getAttribute('value')).toBe('pin');
    await page.getByLabel('Pack to return to').selectOption({ label: 'kb@1.0.0 (sequence 1)' });
    const preview = page.locator('.preview');
    await preview.getByText('Returns to kb@1.0.0', { exact: false }).waitFor({ timeout: 15_000 });
    const moves = await page.locator('[data-impact="move"]').allTextContents();
    const stays = await page.locator('[data-impact="stay"]').allTextContents();
    expect(moves).toEqual([`${onV2.length} targets on kb@2.0.0 → will run kb@1.0.0`]);
    expect(stays).toEqual([]);
    const versions = /index version (\d+) → (\d+)/.exec((await preview.textContent()) ?? '');
    expect(versions).not.toBeNull();
    await page.getByLabel('Reason (required)').fill('kb 2.0.0 answers wrong after a day');
    await page.getByLabel('Ticket (optional)').fill('INC-77');
    await accessible('rollback-completed');
    await shot('rollback-completed');
    await page.getByRole('button', { name: 'Execute' }).click();
    await page.getByRole('heading', { name: new RegExp(`Run ${completed}`) }).waitFor();

    // What the preview said: every target that was told kb@2.0.0 is now told kb@1.0.0.
    await eventually('the pin reaching the targets', 15_000, async () => {
      const after = await desired();
      return TARGETS.every((t) => after.get(t) === digests['v1']) ? after : null;
    });
    const channel = await api<{
      channel: { indexVersion: number; pins: { cohort: string; pack: string; reason: string }[] };
    }>('GET', '/environments/prod/channels/stable');
    // The index the pin signed is the version the preview named.
    expect(channel.body.channel.indexVersion).toBe(Number(versions?.[2]));
    expect(channel.body.channel.pins).toEqual([
      expect.objectContaining({
        cohort: '_',
        pack: digests['v1'],
        reason: 'kb 2.0.0 answers wrong after a day (ticket INC-77)',
      }),
    ]);
    // The channel follows its base again for the tests after this one.
    expect(
      (
        await api('DELETE', '/environments/prod/channels/stable/pins/_', {
          reason: 'checked the rollback of a completed release',
        })
      ).status,
    ).toBe(200);
  }, 60_000);

  it('exports the evidence of an ended release, and the command it shows verifies the bundle offline', async () => {
    await page.goto(`${server.url}/releases/${rolledBack}`);
    await page.getByRole('link', { name: 'Export evidence' }).click();
    await page.getByRole('heading', { name: `Evidence of ${rolledBack}` }).waitFor();
    // The seal is covered by a signed checkpoint within a poll or two.
    await page.getByText('Sealed: every record of the release', { exact: false }).waitFor({
      timeout: 15_000,
    });
    const statuses = await page.locator('tbody tr td:nth-child(2)').allTextContents();
    expect(statuses.filter((s) => s.endsWith('pending'))).toEqual([]);
    expect(statuses.at(-1)).toBe('✓ sealed');
    const command = page.getByLabel('Offline verification command');
    await command.waitFor({ timeout: 15_000 });
    await accessible('evidence');
    await shot('evidence-timeline');

    const dir = await mkdtemp(join(tmpdir(), 'lockgate-evidence-'));
    try {
      const save = async (click: () => Promise<void>): Promise<string> => {
        const [download] = await Promise.all([page.waitForEvent('download'), click()]);
        const file = join(dir, download.suggestedFilename());
        await download.saveAs(file);
        return file;
      };
      const bundle = await save(() =>
        page.getByRole('button', { name: 'Download evidence bundle' }).click(),
      );
      expect(bundle).toBe(join(dir, `${rolledBack}.evidence.tar.gz`));
      expect([...(await readFile(bundle)).subarray(0, 2)]).toEqual([0x1f, 0x8b]);
      await save(() => page.getByRole('button', { name: 'log.vkey' }).click());
      await save(() => page.getByRole('button', { name: /^build-[0-9a-f]{12}\.pem$/ }).click());
      // The command exactly as shown, run by the lockgate CLI in the download folder.
      const words = ((await command.textContent()) ?? '').replace(/\\\n/g, ' ').split(/\s+/);
      expect(words.slice(0, 3)).toEqual(['lockgate', 'evidence', 'verify']);
      const verified = await new Promise<{ code: number; stdout: string; stderr: string }>(
        (resolve) => {
          execFile(
            process.execPath,
            [CLI_MAIN, ...words.slice(1).filter((w) => w !== '')],
            { cwd: dir, timeout: 60_000 },
            (error, stdout, stderr) =>
              resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }),
          );
        },
      );
      expect(verified.stderr).toBe('');
      expect(verified.code).toBe(0);
      expect(verified.stdout).toContain(`bundle of ${rolledBack}: ok`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it("replays a release's decisions, and a chosen verdict from its Step Detail evidence", async () => {
    await page.goto(`${server.url}/releases/${rolledBack}`);
    await page.getByRole('link', { name: 'Replay', exact: true }).click();
    await page.getByRole('heading', { name: `Replay / Verify ${rolledBack}` }).waitFor();
    await page.getByText('No replay of this release has been requested yet.').waitFor();
    expect(await page.getByLabel('Reason for the replay (required)').inputValue()).toBe(
      `verify the decisions of release ${rolledBack}`,
    );
    await page.getByRole('button', { name: 'Request replay' }).click();
    const figures = page.getByLabel(/^Determinism of rpl_/);
    await figures.waitFor({ timeout: 15_000 });
    const replays = await api<{
      items: { id: string; total: number; matching: number; mismatches: number }[];
    }>('GET', `/releases/${rolledBack}/replays`);
    const made = replays.body.items[0];
    expect(made?.total).toBeGreaterThan(0);
    expect(made?.mismatches).toBe(0);
    expect(await figures.locator('dd').allTextContents()).toEqual([
      String(made?.total),
      String(made?.matching),
      '0',
      `100 % (${made?.matching} of ${made?.total})`,
    ]);
    await accessible('replay');
    await shot('replay');

    await page.goto(`${server.url}/releases/${rolledBack}`);
    await page
      .getByRole('link', { name: /Step detail of/ })
      .last()
      .click();
    await page.getByRole('tab', { name: 'Evidence' }).click();
    await page.getByText('sealed: included in the checkpoint', { exact: false }).waitFor({
      timeout: 15_000,
    });
    await accessible('step-evidence');
    await shot('step-evidence');
    await page.getByRole('link', { name: 'Replay this verdict' }).click();
    await page.getByText('Chosen verdict:', { exact: false }).waitFor();
    expect(await page.getByText('Chosen verdict:', { exact: false }).textContent()).toContain(
      'in the latest replay: matches',
    );
    expect(await page.getByLabel('Reason for the replay (required)').inputValue()).toMatch(
      new RegExp(`^verify verdict #\\d+ \\(command\\.rollback\\) of release ${rolledBack}$`),
    );
  }, 60_000);

  it('a viewer token sees no action buttons, and the server refuses its commands anyway', async () => {
    const made = await api<{ secret: string }>('POST', '/tokens', {
      name: 'auditor',
      role: 'viewer',
    });
    expect(made.status).toBe(201);
    const viewer = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await viewer.goto(`${server.url}/sign-in`);
    await viewer.getByLabel('API token').fill(made.body.secret);
    await viewer.getByRole('button', { name: 'Sign in' }).click();
    await viewer.getByRole('heading', { name: 'Releases' }).waitFor();
    // Buttons that act (a disclosure that only shows more, aria-expanded, is not one).
    const actionButtons = (): Promise<string[]> =>
      viewer.locator('main button:not([aria-expanded])').allTextContents();
    // Each screen, once its data is shown (the sentinel), has no button but Sign out.
    for (const [path, sentinel] of [
      [`/releases/${rolledBack}`, 'Quick actions'],
      [`/releases/${rolledBack}/rollback`, 'Your role reads only'],
      [`/releases/${rolledBack}/replay`, 'Your role reads only'],
      ['/channels/prod/stable', 'Channel prod / stable'],
      ['/packs', 'kb'],
      ['/schedule', 'Next 14 days'],
    ] as const) {
      await viewer.goto(`${server.url}${path}`);
      await viewer.getByText(sentinel).first().waitFor({ timeout: 15_000 });
      expect(await actionButtons(), path).toEqual([]);
    }
    await viewer.goto(`${server.url}/releases/${rolledBack}/rollback`);
    await viewer.getByText('Your role reads only').waitFor();
    await viewer.screenshot({ path: join(SHOTS, 'viewer-rollback.png'), fullPage: true });
    await viewer.close();
    for (const [method, path, body] of [
      ['POST', `/releases/${rolledBack}/pause`, { reason: 'x' }],
      ['POST', '/freezes', { reason: 'x' }],
      [
        'PUT',
        '/environments/prod/channels/stable/pins/_',
        { pack: 'kb@1.0.0', reason: 'x', expiresIn: '1h' },
      ],
    ] as const) {
      const refused = await fetch(`${server.url}/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${made.body.secret}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify(body),
      });
      expect(refused.status, path).toBe(403);
      expect(((await refused.json()) as { code: string }).code).toBe('FORBIDDEN');
    }
  }, 60_000);

  it('stops the line from the Schedule screen and lifts it', async () => {
    await page.goto(`${server.url}/schedule`);
    await page.getByRole('heading', { name: 'Schedule', exact: true }).waitFor();
    await page.getByLabel('Kind').selectOption('weekly');
    await page.getByLabel('Start (UTC, HH:MM)').fill('16:00');
    await page.getByLabel('Reason (required)', { exact: true }).fill('no Friday evening changes');
    await page.getByRole('button', { name: 'Add freeze window' }).click();
    await page
      .getByText('weekly freeze: no Friday evening changes')
      .first()
      .waitFor({ timeout: 15_000 });
    await page.getByRole('button', { name: 'Stop the line' }).click();
    await page.getByLabel('Reason for stop the line (required)').fill('incident 42');
    await page.getByRole('button', { name: 'Confirm stop the line' }).click();
    await page.getByText(/Frozen now: prod/).waitFor({ timeout: 15_000 });
    const active = await api<{ items: { env: string; source: string }[] }>('GET', '/freezes');
    expect(active.body.items).toEqual([
      expect.objectContaining({ env: 'prod', source: 'stop-the-line' }),
    ]);
    await accessible('schedule');
    await shot('schedule');
    await page.getByRole('button', { name: 'Lift' }).click();
    await page.getByLabel('Reason for lift (required)').fill('incident resolved');
    await page.getByRole('button', { name: 'Confirm lift' }).click();
    await page.getByText('No freeze in effect', { exact: false }).waitFor({ timeout: 15_000 });
    expect((await api<{ items: unknown[] }>('GET', '/freezes')).body.items).toEqual([]);
  }, 60_000);

  it('schedules a release from the Schedule screen, which lists it on its day', async () => {
    await page.goto(`${server.url}/schedule`);
    await page.getByRole('heading', { name: 'Schedule a release' }).waitFor();
    const at = new Date(Date.now() + 2 * 86_400_000);
    const local = `${at.toISOString().slice(0, 10)}T06:30`;
    await page.getByLabel('Pack').selectOption({ label: 'kb@3.0.0 (sequence 3)' });
    await page.getByLabel('Plan').selectOption('quick');
    await page.getByLabel('Not before (UTC)').fill(local);
    await page.getByLabel('Release reason (required)').fill('kb 3.0.0 again, after the weekend');
    await page.getByRole('button', { name: 'Schedule release' }).click();
    // The answer shows beside the form: the release made, or the refusal's code.
    const made = page.locator('.schedule-form').getByRole('status').or(page.getByRole('alert'));
    await made.first().waitFor({ timeout: 15_000 });
    expect(await made.first().textContent()).toMatch(/^Scheduled rel_/);
    const id = /Scheduled (rel_\S+)/.exec((await made.textContent()) ?? '')?.[1] ?? '';
    const scheduled = await api<{
      release: { state: string; pack: string; schedule?: { notBefore?: string } };
    }>('GET', `/releases/${id}`);
    expect(scheduled.body.release).toMatchObject({
      state: 'requested',
      pack: digests['v3'],
      schedule: { notBefore: `${local}:00.000Z` },
    });
    await page
      .getByText(`release ${id} (stable): kb 3.0.0 again, after the weekend`)
      .waitFor({ timeout: 15_000 });
    // Its preconditions, each with its state now.
    const preconditions = page.getByRole('list', { name: `Preconditions of ${id}` });
    await preconditions.waitFor({ timeout: 15_000 });
    const states: (string | null)[][] = [];
    for (const item of await preconditions.getByRole('listitem').all()) {
      states.push([
        await item.getAttribute('data-precondition'),
        await item.locator('.mark').getAttribute('aria-label'),
      ]);
    }
    expect(states).toEqual([
      ['schedule', 'waiting'],
      ['freeze', 'met'],
      ['approvals', 'met'],
      ['data', 'met'],
      ['upstream', 'info'],
    ]);
    expect(await preconditions.locator('[data-precondition="schedule"]').textContent()).toContain(
      `not before ${local}:00.000Z`,
    );
    await accessible('schedule-release');
    await shot('schedule-release');
    expect(
      (await api('POST', `/releases/${id}/abort`, { reason: 'only a scheduling check' })).status,
    ).toBe(200);
  }, 60_000);
});
