import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, runCli } from './cli-harness.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;

/** Every case fails before any request: the token is set, the server does not exist. */
const USAGE_ERRORS: { args: string[]; stderr: RegExp }[] = [
  { args: ['env', 'create', 'Prod'], stderr: /Environment 'Prod' is not a name/ },
  { args: ['env', 'show', 'prod_eu'], stderr: /is not a name/ },
  {
    args: [
      'env',
      'freeze',
      'prod',
      '--from',
      '2026-12-24T00:00:00Z',
      '--until',
      '2026-12-27T00:00:00Z',
    ],
    stderr: /required option '--reason <TEXT>'/,
  },
  {
    args: ['env', 'freeze', 'prod', '--reason', 'x'],
    stderr: /either --from TIME --until TIME .* or --weekly/,
  },
  {
    args: ['env', 'freeze', 'prod', '--reason', 'x', '--from', '2026-12-24'],
    stderr: /--from.*RFC 3339/,
  },
  {
    args: ['env', 'freeze', 'prod', '--reason', 'x', '--from', '2026-12-24T00:00:00Z'],
    stderr: /needs both --from and --until/,
  },
  {
    args: [
      'env',
      'freeze',
      'prod',
      '--reason',
      'x',
      '--from',
      '2026-12-27T00:00:00Z',
      '--until',
      '2026-12-24T00:00:00Z',
    ],
    stderr: /--until must be after --from/,
  },
  {
    args: [
      'env',
      'freeze',
      'prod',
      '--reason',
      'x',
      '--weekly',
      'fri-mon',
      '--start',
      '16:00',
      '--duration',
      '2h',
    ],
    stderr: /--weekly.*backwards/,
  },
  {
    args: [
      'env',
      'freeze',
      'prod',
      '--reason',
      'x',
      '--weekly',
      'fri',
      '--start',
      '4pm',
      '--duration',
      '2h',
    ],
    stderr: /--start.*HH:MM/,
  },
  {
    args: [
      'env',
      'freeze',
      'prod',
      '--reason',
      'x',
      '--weekly',
      'fri',
      '--start',
      '16:00',
      '--duration',
      'long',
    ],
    stderr: /--duration.*duration like 30s/,
  },
  {
    args: ['env', 'freeze', 'prod', '--reason', 'x', '--weekly', 'fri', '--start', '16:00'],
    stderr: /needs --weekly, --start and --duration/,
  },
  {
    args: [
      'env',
      'freeze',
      'prod',
      '--reason',
      '  ',
      '--weekly',
      'fri',
      '--start',
      '16:00',
      '--duration',
      '2h',
    ],
    stderr: /--reason.*Expected a reason/,
  },
  { args: ['env', 'unfreeze', 'prod', 'frz_1'], stderr: /required option '--reason <TEXT>'/ },
  { args: ['channel', 'create', 'prod'], stderr: /Expected ENV\/CHANNEL/ },
  { args: ['channel', 'create', 'prod/stable/x'], stderr: /Expected ENV\/CHANNEL/ },
  { args: ['channel', 'create', 'prod/stable', '--floor', 'low'], stderr: /--floor.*'none'/ },
  {
    args: ['channel', 'create', 'prod/stable', '--constraint', 'runtime'],
    stderr: /--constraint.*KEY=VALUE/,
  },
  {
    args: ['channel', 'create', 'prod/stable', '--cohort', 'eu=region in (eu'],
    stderr: /--cohort.*unbalanced parentheses/,
  },
  {
    args: ['channel', 'create', 'prod/stable', '--cohort', 'eu'],
    stderr: /--cohort.*NAME=SELECTOR/,
  },
  {
    args: ['channel', 'create', 'prod/stable', '--cohort-percent', 'canary=150'],
    stderr: /--cohort-percent.*0 to 100/,
  },
  {
    args: ['channel', 'create', 'prod/stable', '--index-ttl', '0s'],
    stderr: /--index-ttl.*longer than 0/,
  },
  {
    args: ['channel', 'create', 'prod/stable', '--plan', 'Fast Plan'],
    stderr: /Plan 'Fast Plan' is not a name/,
  },
  { args: ['channel', 'show', 'stable'], stderr: /Expected ENV\/CHANNEL/ },
  { args: ['channel', 'list', 'PROD'], stderr: /is not a name/ },
  { args: ['plan', 'set', 'fast'], stderr: /required option '--file <FILE>'/ },
  { args: ['target', 'list', '--env', 'Prod'], stderr: /--env.*is not a name/ },
  {
    args: ['release', 'create', 'kb@1.0.0', '--to', 'prod/stable'],
    stderr: /required option '--reason <TEXT>'/,
  },
  {
    args: ['release', 'create', 'kb@1.0.0', '--reason', 'x'],
    stderr: /required option '--to <ENV\/CHANNEL>'/,
  },
  {
    args: ['release', 'create', 'kb', '--to', 'prod/stable', '--reason', 'x'],
    stderr: /NAME@VERSION/,
  },
  {
    args: ['release', 'create', 'kb@1.0.0', '--to', 'prod', '--reason', 'x'],
    stderr: /--to.*ENV\/CHANNEL/,
  },
  {
    args: [
      'release',
      'create',
      'kb@1.0.0',
      '--to',
      'prod/stable',
      '--reason',
      'x',
      '--not-before',
      'tomorrow',
    ],
    stderr: /--not-before.*RFC 3339/,
  },
  {
    args: [
      'release',
      'create',
      'kb@1.0.0',
      '--to',
      'prod/stable',
      '--reason',
      'x',
      '--idempotency-key',
      'a b',
    ],
    stderr: /--idempotency-key/,
  },
  { args: ['release', 'list', '--state', 'done'], stderr: /--state.*rolled_back/ },
  ...['pause', 'resume', 'abort', 'approve', 'reject', 'retry', 'rollback', 'promote'].map(
    (command) => ({
      args: ['release', command, 'rel_1'],
      stderr: /required option '--reason <TEXT>'/,
    }),
  ),
  { args: ['release', 'promote', 'rel_1', '--full', '--reason', ''], stderr: /Expected a reason/ },
  {
    args: ['pin', 'set', 'prod/stable', 'kb@1.0.0', '--expires', '24h'],
    stderr: /required option '--reason <TEXT>'/,
  },
  {
    args: ['pin', 'set', 'prod/stable', 'kb@1.0.0', '--reason', 'x'],
    stderr: /required option '--expires <WHEN>'/,
  },
  {
    args: ['pin', 'set', 'prod/stable', 'kb@1.0.0', '--reason', 'x', '--expires', 'forever'],
    stderr: /--expires.*duration like 24h/,
  },
  {
    args: ['pin', 'set', 'prod', 'kb@1.0.0', '--reason', 'x', '--expires', '24h'],
    stderr: /ENV\/CHANNEL\/COHORT/,
  },
  { args: ['pin', 'clear', 'prod/stable/Canary', '--reason', 'x'], stderr: /Cohort 'Canary'/ },
  { args: ['pin', 'clear', 'prod/stable'], stderr: /required option '--reason <TEXT>'/ },
  { args: ['pack', 'revoke', DIGEST], stderr: /required option '--reason <TEXT>'/ },
  { args: ['pack', 'revoke', 'kb@1.0.0', '--reason', 'x'], stderr: /digest sha256/ },
  { args: ['server', 'keys', '--colour'], stderr: /unknown option '--colour'/ },
];

describe('release commands: usage errors', () => {
  let temp: { dir: string; remove: () => Promise<void> };

  beforeAll(async () => {
    temp = await makeTempDir('release-usage');
  });

  afterAll(async () => {
    await temp.remove();
  });

  for (const { args, stderr } of USAGE_ERRORS) {
    it(`exits 2 for: lockgate ${args.join(' ')}`, async () => {
      const result = await runCli([...args, '--server', 'http://127.0.0.1:9', '--token', 't'], {
        cwd: temp.dir,
      });
      expect(result.stderr).toMatch(stderr);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
    });
  }

  it('lists the release commands in the help', async () => {
    const result = await runCli(['--help'], { cwd: temp.dir });
    expect(result.code).toBe(0);
    for (const group of ['env', 'channel', 'plan', 'target', 'release', 'pin']) {
      expect(result.stdout).toMatch(new RegExp(`^  ${group} `, 'm'));
    }
  });

  it('keeps `lockgate server` running the server while `server keys` is a subcommand', async () => {
    const help = await runCli(['server', '--help'], { cwd: temp.dir });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--port <PORT>/);
    expect(help.stdout).toMatch(/keys \[options\]/);
    const keysHelp = await runCli(['server', 'keys', '--help'], { cwd: temp.dir });
    expect(keysHelp.stdout).toMatch(/--out <FILE>/);
  });

  it('refuses a plan file that is not JSON with PLAN_INVALID, before calling the server', async () => {
    await writeFile(join(temp.dir, 'broken.json'), '{"stages": [');
    const result = await runCli(
      [
        'plan',
        'set',
        'fast',
        '--file',
        'broken.json',
        '--server',
        'http://127.0.0.1:9',
        '--token',
        't',
      ],
      { cwd: temp.dir },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^PLAN_INVALID: broken\.json is not JSON/);
  });

  it('refuses a plan file naming another plan as a usage error', async () => {
    await writeFile(join(temp.dir, 'other.json'), '{"name": "slow", "stages": []}');
    const result = await runCli(
      [
        'plan',
        'set',
        'fast',
        '--file',
        'other.json',
        '--server',
        'http://127.0.0.1:9',
        '--token',
        't',
      ],
      { cwd: temp.dir },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/names the plan "slow", but the command sets 'fast'/);
  });
});
