import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerDemoCommand } from '../src/commands/demo-command.ts';
import { loadCliConfig } from '../src/config.ts';
import type { CliIo } from '../src/io.ts';
import { buildProgram } from '../src/program.ts';
import { makeTempDir } from './cli-harness.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
/** The demo must end within 3 minutes on a 2-core machine; the test allows that and no more. */
const DEMO_TIMEOUT_MS = 180_000;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Summary {
  ok: boolean;
  failures: string[];
  server: string;
  adminToken: string;
  agents: number;
  durationSeconds: number;
  releases: {
    label: string;
    state: string;
    endedBy: string | null;
    endedByRule: string | null;
    outcome: string | null;
    judgment: string | null;
    timeline: {
      kind: string;
      rule: string;
      actor: string;
      to: string;
      inputs: { gates?: { kind?: string; mode?: string; verdict: string }[] };
    }[];
    replay: { total: number; matching: number; mismatches: number; matchRate: number } | null;
    evidence: {
      file: string;
      report: {
        records: number;
        outcome: string;
        contexts: number;
        replay: { total: number; matching: number; mismatches: number; matchRate: number };
      } | null;
      refused: { code: string; message: string } | null;
    } | null;
  }[];
  fleet: {
    total: number;
    byPack: Record<string, number>;
    allOnV2: boolean;
    stragglers: unknown[];
  };
  traffic: {
    requests: number;
    ok: number;
    serverErrors: number;
    byVersion: Record<string, number>;
  };
}

function registered(): boolean {
  const context = {
    io: {} as CliIo,
    config: loadCliConfig({}),
  };
  return buildProgram(context).commands.some((command) => command.name() === 'demo');
}

/** `lockgate demo --exit --json` as a child process, killed after the bound. */
function runChild(cwd: string): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, 'demo', '--exit', '--json'], {
      cwd,
      env: { ...process.env, LOCKGATE_ADMIN_TOKEN: '', LOCKGATE_SERVER: '', LOCKGATE_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), DEMO_TIMEOUT_MS);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Until `demo` is registered in program.ts: the same command on a program of its own. */
async function runInProcess(cwd: string): Promise<Ran> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    cwd,
    now: () => new Date(),
    fetch: globalThis.fetch,
    // Never asked to stop: --exit ends by itself.
    untilShutdown: () => new Promise<string>(() => undefined),
  };
  const program = new Command('lockgate').exitOverride();
  registerDemoCommand(program, { io, config: loadCliConfig({}) });
  try {
    await program.parseAsync(['demo', '--exit', '--json'], { from: 'user' });
    return { code: 0, stdout, stderr };
  } catch (error) {
    stderr += String(error);
    return { code: 1, stdout, stderr };
  }
}

describe('lockgate demo', () => {
  it(
    'completes the good release, rolls the bad one back by the controller and ends with every agent on v2',
    async () => {
      const temp = await makeTempDir('demo');
      try {
        const ran = registered() ? await runChild(temp.dir) : await runInProcess(temp.dir);
        if (ran.code !== 0) {
          throw new Error(`demo exited ${String(ran.code)}\n${ran.stderr}\n${ran.stdout}`);
        }
        const summary = JSON.parse(ran.stdout) as Summary;
        expect(summary.ok, summary.failures.join('; ')).toBe(true);
        expect(summary.agents).toBe(20);
        expect(summary.server).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        expect(summary.adminToken.length).toBeGreaterThanOrEqual(16);

        const byLabel = new Map(summary.releases.map((r) => [r.label, r]));
        expect(byLabel.get('v1')?.state).toBe('completed');
        const v2 = byLabel.get('v2');
        expect(v2?.state).toBe('completed');
        expect(v2?.timeline.filter((r) => r.rule === 'stage.soak_complete')).toHaveLength(3);
        const v3 = byLabel.get('v3');
        expect(v3?.state).toBe('rolled_back');
        expect(v3?.endedBy).toBe('controller');
        expect(v3?.endedByRule).toBe('gate.failed');
        expect(v3?.outcome).toMatch(/error_rate/);
        // caught by the compare gate against the baseline, said in words
        expect(v3?.judgment).toMatch(
          /^error rate \+[\d.]+ vs baseline \(95% CI [-+]?[\d.]+ to \+[\d.]+\), p (=|<) [\d.]+: regression$/,
        );
        const failed = v3?.timeline.find((r) => r.rule === 'gate.failed');
        expect(
          failed?.inputs.gates?.filter((g) => g.verdict === 'fail' && g.mode === 'enforce'),
        ).toEqual([expect.objectContaining({ kind: 'compare' })]);
        // No operator command besides the request itself: the controller did the rest.
        expect(
          v3?.timeline.filter((r) => r.kind === 'command' && r.rule !== 'release.create'),
        ).toEqual([]);

        // Every decision of the demo's releases replays on the current core.
        for (const release of summary.releases) {
          expect(release.replay, release.label).toMatchObject({ mismatches: 0, matchRate: 1 });
          expect(release.replay?.matching).toBe(release.replay?.total);
          expect(release.replay?.total).toBeGreaterThan(0);
        }

        // Each release's bundle was exported and verified offline, every verdict replayed, and
        // the figures agree with the server's replay.
        for (const release of summary.releases) {
          expect(release.evidence?.refused, release.label).toBeNull();
          expect(release.evidence?.file).toMatch(/\.tar\.gz$/);
          expect(release.evidence?.report).toMatchObject({
            outcome: release.state,
            replay: {
              total: release.replay?.total,
              matching: release.replay?.total,
              mismatches: 0,
              matchRate: 1,
            },
          });
          expect(release.evidence?.report?.contexts).toBeGreaterThan(0);
        }

        expect(summary.fleet).toEqual({
          total: 20,
          byPack: { v2: 20 },
          allOnV2: true,
          stragglers: [],
        });
        expect(summary.traffic.requests).toBeGreaterThan(100);
        expect(summary.traffic.byVersion['2.0.0']).toBeGreaterThan(0);
        expect(summary.traffic.byVersion['3.0.0'] ?? 0).toBeGreaterThan(0);
        expect(summary.traffic.serverErrors).toBeGreaterThan(0);
        expect(summary.durationSeconds).toBeLessThan(DEMO_TIMEOUT_MS / 1000);
      } finally {
        await temp.remove();
      }
    },
    DEMO_TIMEOUT_MS + 20_000,
  );
});
