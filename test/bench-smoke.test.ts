import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { postgresAdminUrl } from '../packages/server/test/helpers/test-database.ts';

/**
 * Every benchmark once, in its smallest configuration (`npm run bench -- NAME …`): it runs to
 * the end and prints a table whose first row is a measured figure. No timing is asserted; the
 * figures are the benchmarks' own business (docs/performance.md).
 */
const RUN = fileURLToPath(new URL('../bench/run.ts', import.meta.url));
const POSTGRES = postgresAdminUrl();

const SMALLEST: readonly (readonly string[])[] = [
  ['checkin', '--targets', '100', '--seconds', '0.3'],
  ['ingest', '--targets', '100', '--seconds', '0.3', '--connections', '4'],
  // a relay's batches, on PostgreSQL where it runs
  [
    'ingest',
    '--targets',
    '100',
    '--seconds',
    '0.3',
    '--connections',
    '2',
    '--per-request',
    '20',
    ...(POSTGRES === null ? [] : ['--postgres', POSTGRES]),
  ],
  ['verify', '--mib', '4', '--files', '4', '--repeat', '1'],
  ['propagation', '--streams', '20', '--changes', '3'],
  ['tick', '--targets', '200', '--reports', '1'],
  ['flip', '--flips', '20'],
  ['revert', '--mib', '4', '--reverts', '3'],
  // through relays (test/fleet-simulator.test.ts runs each agent's own reports)
  ['fleet', '--agents', '50', '--timeout', '60', '--relay', '10'],
  ...(POSTGRES === null
    ? []
    : [['replicas', '--streams', '20', '--changes', '3', '--postgres', POSTGRES]]),
];

function bench(args: readonly string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** The cells of a markdown table's rows (header, then data; the separator row left out). */
function tableRows(out: string): string[][] {
  return out
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|[-| ]+\|$/.test(line))
    .map((line) =>
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    );
}

describe('benchmarks, smallest configurations', () => {
  for (const args of SMALLEST) {
    it(`npm run bench -- ${args.join(' ').replace(POSTGRES ?? '\0', 'URL')}`, async () => {
      const { code, out } = await bench(args);
      expect(code, out).toBe(0);
      const [header, first] = tableRows(out);
      expect(header?.length, out).toBeGreaterThan(2);
      // The first data row holds at least one measured, positive figure.
      const figures = (first ?? []).map((cell) => Number(cell.replaceAll(',', '')));
      expect(
        figures.some((n) => Number.isFinite(n) && n > 0),
        out,
      ).toBe(true);
    }, 120_000);
  }

  it('lists the benchmarks and exits 2 on an unknown name', async () => {
    const { code, out } = await bench(['no-such-bench']);
    expect(code).toBe(2);
    for (const name of [
      'checkin',
      'ingest',
      'tick',
      'propagation',
      'verify',
      'flip',
      'revert',
      'fleet',
    ]) {
      expect(out).toContain(`  ${name}`);
    }
  });
});
