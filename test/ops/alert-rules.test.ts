import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RUN_PROMTOOL_TESTS } from './prometheus-tools.ts';

// The links from alerts to runbooks and the commands of runbooks: operational-readiness.test.ts.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RULES = 'ops/prometheus/lockgate-rules.yaml';

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
