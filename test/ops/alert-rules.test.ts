import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildProgram } from '@lockgate/cli';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { RUN_PROMTOOL_TESTS } from './prometheus-tools.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RULES = 'ops/prometheus/lockgate-rules.yaml';
const RUNBOOKS = 'docs/operations/runbooks';

function promtool(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { cwd: ROOT, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** Every `alert:` of the rules file with its runbook_url. */
function alerts(): { alert: string; runbook: string | undefined }[] {
  const text = readFileSync(`${ROOT}${RULES}`, 'utf8');
  return text
    .split(/\n\s*- (?=alert:|record:)/)
    .filter((block) => block.startsWith('alert:'))
    .map((block) => ({
      alert: /^alert: (\S+)/.exec(block)?.[1] ?? '',
      runbook: /runbook_url: (\S+)/.exec(block)?.[1],
    }));
}

/** The `lockgate …` lines of a runbook's sh blocks, as words up to the first option or ARG. */
function commandsOf(markdown: string): string[][] {
  const commands: string[][] = [];
  for (const block of markdown.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of (block[1] ?? '').split('\n')) {
      if (!line.startsWith('lockgate ')) continue;
      const words = line.split(/\s+/).slice(1);
      const path: string[] = [];
      for (const word of words) {
        // options, placeholders (FILE, ENV/CH) and concrete arguments (paths, refs) end the command
        if (word.startsWith('-') || /^[A-Z_/]+$/.test(word) || /[./@=:]/.test(word)) break;
        path.push(word);
      }
      commands.push(path);
    }
  }
  return commands;
}

function commandExists(program: Command, path: readonly string[]): boolean {
  let command: Command | undefined = program;
  for (const name of path) {
    command = command?.commands.find((c) => c.name() === name);
    if (command === undefined) return false;
  }
  return true;
}

describe.runIf(RUN_PROMTOOL_TESTS)('alert rules', () => {
  it('pass promtool check rules', () => {
    const checked = promtool('check', 'rules', RULES);
    expect(checked.output).toContain('SUCCESS');
    expect(checked.status).toBe(0);
  });

  it('pass their promtool unit tests, and every alert has one', () => {
    const files = readdirSync(`${ROOT}ops/prometheus/tests`)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => `ops/prometheus/tests/${f}`);
    const tested = promtool('test', 'rules', ...files);
    expect(tested.output).not.toContain('FAILED');
    expect(tested.status).toBe(0);
    const tests = files.map((f) => readFileSync(`${ROOT}${f}`, 'utf8')).join('\n');
    for (const { alert } of alerts()) expect(tests).toContain(`alertname: ${alert}`);
  });
});

describe('the operations kit', () => {
  it('links every alert to a runbook that exists', () => {
    const listed = alerts();
    expect(listed.length).toBeGreaterThanOrEqual(10);
    for (const { alert, runbook } of listed) {
      expect(runbook, alert).toMatch(/^docs\/operations\/runbooks\/[a-z-]+\.md$/);
      expect(existsSync(`${ROOT}${runbook}`), `${alert}: ${runbook}`).toBe(true);
    }
  });

  it('uses only lockgate commands that exist in its runbooks', () => {
    const program = buildProgram({
      io: { stdout: () => undefined, stderr: () => undefined },
      config: { server: undefined, token: undefined },
    } as unknown as Parameters<typeof buildProgram>[0]);
    const files = readdirSync(`${ROOT}${RUNBOOKS}`).filter((f) => f.endsWith('.md'));
    let checked = 0;
    for (const file of files) {
      const commands = commandsOf(readFileSync(`${ROOT}${RUNBOOKS}/${file}`, 'utf8'));
      expect(commands.length, `${file} has no diagnosis command`).toBeGreaterThan(0);
      for (const path of commands) {
        expect(commandExists(program, path), `${file}: lockgate ${path.join(' ')}`).toBe(true);
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThan(files.length);
  });
});
