/**
 * Evidence bundle budget (issue 9, DESIGN §6): offline verification of a release's bundle, in
 * records per second, against a baseline measured in the same run: `openssl speed ed25519`
 * verifications per second (one core; openssl counts CPU time, so the per-CPU-second figure
 * is the fair one on a loaded machine). Target ≥ 0.8× that, both cores allowed. Also prints the
 * time to verify a 10,000-record bundle (target under 2 s) and to read it from its .tar.gz.
 *
 * The bundle is made here: one release of N records plus its seal in a log of N + 1 leaves,
 * signed by a log key, each record with its inclusion proof, one pack manifest.
 *
 *   npx node bench/evidence-verify.bench.ts [--records N] [--workers N]
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { readEvidenceBundle, verifyEvidenceBundle, writeEvidenceBundle } from '@lockgate/core';
import { makeBundle } from './lib/evidence-bundle.ts';
import { verifyBundleFiles } from '../packages/cli/src/commands/evidence-command.ts';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '10000' },
    workers: { type: 'string', default: '2' },
  },
});
const RECORDS = Number(values.records);
const WORKERS = Number(values.workers);

/** `openssl speed -seconds 3 ed25519`: the verify/s column of its Ed25519 line. */
function opensslVerifiesPerSecond(): number | null {
  try {
    const out = execFileSync('openssl', ['speed', '-seconds', '3', 'ed25519'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const line = out.split('\n').find((l) => /Ed25519/.test(l) && /EdDSA/.test(l));
    const numbers = line?.trim().split(/\s+/).map(Number).filter(Number.isFinite) ?? [];
    // … sign(s) verify(s) sign/s verify/s
    return numbers.at(-1) ?? null;
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const openssl = opensslVerifiesPerSecond();
  console.log(`making a bundle of ${RECORDS} records and its seal...`);
  const { files, trust } = makeBundle(RECORDS);
  const tarGz = await writeEvidenceBundle(files, ['contexts']);
  let started = performance.now();
  const read = await readEvidenceBundle(tarGz);
  const readSeconds = (performance.now() - started) / 1000;

  // warm up both paths on the same bundle, then measure
  verifyEvidenceBundle(read, trust);
  started = performance.now();
  const cpuBefore = process.cpuUsage();
  const one = verifyEvidenceBundle(read, trust);
  const oneSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const oneCpuSeconds = (cpu.user + cpu.system) / 1e6;
  await verifyBundleFiles(read, trust, WORKERS);
  started = performance.now();
  const many = await verifyBundleFiles(read, trust, WORKERS);
  const manySeconds = (performance.now() - started) / 1000;
  if (one.records !== many.records) throw new Error('the two paths disagree');

  const rate = (seconds: number): number => Math.round(one.records / seconds);
  const lines = [
    `bundle             ${one.records} records, ${(tarGz.byteLength / 1e6).toFixed(1)} MB .tar.gz, read in ${readSeconds.toFixed(3)} s`,
    `openssl ed25519    ${openssl === null ? 'not measured (no openssl)' : `${Math.round(openssl)} verify/s (openssl speed, one core)`}`,
    `verify, 1 thread   ${oneSeconds.toFixed(3)} s, ${rate(oneSeconds)} records/s` +
      (openssl === null ? '' : `, ${(rate(oneSeconds) / openssl).toFixed(2)}x openssl`),
    `verify, 1 thread   ${oneCpuSeconds.toFixed(3)} CPU s, ${rate(oneCpuSeconds)} records per CPU second` +
      (openssl === null ? '' : `, ${(rate(oneCpuSeconds) / openssl).toFixed(2)}x openssl per core`),
    `verify, ${WORKERS} threads  ${manySeconds.toFixed(3)} s, ${rate(manySeconds)} records/s` +
      (openssl === null
        ? ''
        : `, ${(rate(manySeconds) / openssl).toFixed(2)}x openssl (target >= 0.8x)`),
    `read + verify      ${(readSeconds + manySeconds).toFixed(3)} s for ${one.records} records (target < 2 s for 10,000)`,
  ];
  console.log(lines.join('\n'));
}

await main();
