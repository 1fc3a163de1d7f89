/**
 * The operations kit checks itself: what an operator reaches for during an incident exists and
 * agrees with the server.
 *
 * - every alert of ops/prometheus/lockgate-rules.yaml links a runbook that exists;
 * - every `lockgate …` command the operations docs give (sh blocks and inline code), with every
 *   option it uses, exists in the CLI; every runbook has a diagnosis command;
 * - every relative link of the operations docs reaches a file;
 * - every Lockgate metric the alert rules and the dashboard query is one the server exports.
 *
 * Elsewhere, because they need the Debian prometheus tools (run by .ci/run):
 * - alert-rules.test.ts: `promtool check rules`, and `promtool test rules` with a unit test for
 *   every alert;
 * - dashboard.test.ts: every dashboard panel's query returns data from a real Prometheus scraping
 *   a real server through a scripted release.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildProgram } from '@lockgate/cli';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../../packages/server/test/helpers/test-app.ts';
import type { TestApp } from '../../packages/server/test/helpers/test-app.ts';
import { DIALECTS } from '../../packages/server/test/helpers/test-database.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RULES = 'ops/prometheus/lockgate-rules.yaml';
const DASHBOARD = 'ops/grafana/lockgate-dashboard.json';
const DOCS = 'docs/operations';
const RUNBOOKS = `${DOCS}/runbooks`;

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

/** The markdown files of the operations docs, runbooks included, relative to the root. */
function operationsDocs(): string[] {
  const top = readdirSync(`${ROOT}${DOCS}`)
    .filter((f) => f.endsWith('.md'))
    .map((f) => `${DOCS}/${f}`);
  const runbooks = readdirSync(`${ROOT}${RUNBOOKS}`)
    .filter((f) => f.endsWith('.md'))
    .map((f) => `${RUNBOOKS}/${f}`);
  return [...top, ...runbooks];
}

interface DocCommand {
  /** the subcommand path, e.g. ['freeze', 'lift'] */
  path: string[];
  /** the long options the line uses, e.g. ['--env', '--reason'] */
  options: string[];
  line: string;
}

/** Splits one `lockgate …` line into the command path and the options it uses. */
function parseCommand(line: string): DocCommand {
  const words = line.trim().split(/\s+/).slice(1);
  const path: string[] = [];
  let inPath = true;
  const options: string[] = [];
  for (const word of words) {
    if (word.startsWith('--')) {
      inPath = false;
      options.push(word.split('=')[0] ?? word);
      continue;
    }
    // options, placeholders (FILE, ENV/CH) and concrete arguments (paths, refs) end the command
    if (word.startsWith('-') || /^[A-Z_/]+$/.test(word) || /[./@=:"'…]/.test(word)) inPath = false;
    if (inPath) path.push(word);
  }
  return { path, options, line: line.trim() };
}

/** The `lockgate …` lines of a doc's sh blocks (the diagnosis blocks of runbooks). */
function blockCommandsOf(markdown: string): DocCommand[] {
  const commands: DocCommand[] = [];
  for (const block of markdown.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of (block[1] ?? '').split('\n')) {
      if (line.startsWith('lockgate ')) commands.push(parseCommand(line));
    }
  }
  return commands;
}

/** The `lockgate …` lines of every fenced block, indented ones (in list items) included. */
function fencedCommandsOf(markdown: string): DocCommand[] {
  const commands: DocCommand[] = [];
  for (const block of markdown.matchAll(/```[a-z]*\n([\s\S]*?)```/g)) {
    for (const line of (block[1] ?? '').split('\n')) {
      if (line.trim().startsWith('lockgate ')) commands.push(parseCommand(line));
    }
  }
  return commands;
}

/** The `lockgate …` inline code spans of a doc's prose (outside fenced blocks). */
function inlineCommandsOf(markdown: string): DocCommand[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, '');
  return [...prose.matchAll(/`(lockgate [^`]+)`/g)].map((m) =>
    parseCommand((m[1] ?? '').replace(/\s+/g, ' ')),
  );
}

function findCommand(program: Command, path: readonly string[]): Command[] | null {
  const chain: Command[] = [program];
  for (const name of path) {
    const next = chain.at(-1)?.commands.find((c) => c.name() === name);
    if (next === undefined) return null;
    chain.push(next);
  }
  return chain;
}

function cliProgram(): Command {
  return buildProgram({
    io: { stdout: () => undefined, stderr: () => undefined },
    config: { server: undefined, token: undefined },
  } as unknown as Parameters<typeof buildProgram>[0]);
}

/** Checks a doc command against the CLI; a sentence for each thing that does not exist. */
function problemsOf(program: Command, doc: string, command: DocCommand): string[] {
  const chain = findCommand(program, command.path);
  if (chain === null) return [`${doc}: no command lockgate ${command.path.join(' ')}`];
  const known = new Set(chain.flatMap((c) => c.options.map((o) => o.long)));
  known.add('--help');
  return command.options
    .filter((option) => !known.has(option))
    .map((option) => `${doc}: lockgate ${command.path.join(' ')} has no option ${option}`);
}

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
    const program = cliProgram();
    const files = readdirSync(`${ROOT}${RUNBOOKS}`).filter((f) => f.endsWith('.md'));
    let checked = 0;
    for (const file of files) {
      const commands = blockCommandsOf(readFileSync(`${ROOT}${RUNBOOKS}/${file}`, 'utf8'));
      expect(commands.length, `${file} has no diagnosis command`).toBeGreaterThan(0);
      for (const { path } of commands) {
        expect(findCommand(program, path), `${file}: lockgate ${path.join(' ')}`).not.toBeNull();
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThan(files.length);
  });

  it('gives only commands and options the CLI has, in blocks and in prose', () => {
    const program = cliProgram();
    const problems: string[] = [];
    let checked = 0;
    for (const doc of operationsDocs()) {
      const markdown = readFileSync(`${ROOT}${doc}`, 'utf8');
      for (const command of [...fencedCommandsOf(markdown), ...inlineCommandsOf(markdown)]) {
        problems.push(...problemsOf(program, doc, command));
        checked += 1;
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(40);
  });

  it('links only files that exist', () => {
    const broken: string[] = [];
    for (const doc of operationsDocs()) {
      const markdown = readFileSync(`${ROOT}${doc}`, 'utf8');
      for (const link of markdown.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = link[1] ?? '';
        if (/^[a-z]+:/.test(target)) continue;
        if (!existsSync(normalize(join(ROOT, dirname(doc), target)))) {
          broken.push(`${doc} → ${target}`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});

describe('the metrics the kit queries', () => {
  let t: TestApp;
  let exported: Set<string>;

  beforeAll(async () => {
    const sqlite = DIALECTS[0];
    if (sqlite === undefined) throw new Error('no SQLite dialect');
    t = await createTestApp(sqlite);
    const scraped = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(scraped.statusCode).toBe(200);
    exported = new Set();
    for (const match of scraped.body.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      const [, name = '', type] = match;
      exported.add(name);
      if (type === 'histogram') {
        for (const suffix of ['_bucket', '_count', '_sum']) exported.add(`${name}${suffix}`);
      }
    }
  });

  afterAll(async () => {
    await t?.close();
  });

  /** `lockgate_…` metric names in a text (recording rules, `lockgate:…`, are not metrics). */
  const metricNames = (text: string): string[] => [
    ...new Set([...text.matchAll(/\blockgate_[a-z0-9_]+/g)].map((m) => m[0])),
  ];

  it('are all exported by the server: every alert rule', () => {
    const names = metricNames(readFileSync(`${ROOT}${RULES}`, 'utf8'));
    expect(names.length).toBeGreaterThanOrEqual(10);
    expect(names.filter((name) => !exported.has(name))).toEqual([]);
  });

  it('are all exported by the server: every dashboard panel', () => {
    const dashboard = JSON.parse(readFileSync(`${ROOT}${DASHBOARD}`, 'utf8')) as {
      panels: { targets?: { expr: string }[] }[];
    };
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((target) => target.expr));
    const names = metricNames(exprs.join('\n'));
    expect(names.length).toBeGreaterThanOrEqual(20);
    expect(names.filter((name) => !exported.has(name))).toEqual([]);
  });
});
