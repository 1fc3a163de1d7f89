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
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { parseArgs } from 'node:util';
import {
  canonicalBytes,
  createSignedManifest,
  decisionStatement,
  digestOf,
  evidenceBundleFiles,
  formatCheckpoint,
  inclusionPlan,
  keyIdOf,
  logEntryOf,
  noteVerifierOf,
  parsePublicKey,
  readEvidenceBundle,
  resolvePlan,
  sealInputs,
  signNote,
  treeLookup,
  rootOfLeafHashes,
  verifierKeyString,
  verifyEvidenceBundle,
  writeEvidenceBundle,
} from '@lockgate/core';
import type { BundleTrust } from '@lockgate/core';
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

function makeBundle(records: number): { files: Map<string, Uint8Array>; trust: BundleTrust } {
  const logKey = generateKeyPairSync('ed25519').privateKey;
  const buildKey = generateKeyPairSync('ed25519').privateKey;
  const origin = 'lockgate/log/bench';
  const release = 'rel_bench';
  const { manifest, digest: pack } = createSignedManifest(
    {
      name: 'kb',
      version: '1.0.0',
      sequence: 1,
      files: [{ path: 'data/kb.txt', bytes: Buffer.from('kb\n') }],
      provenance: {
        buildId: 'b1',
        createdAt: '2026-01-01T00:00:00Z',
        gates: [{ name: 'tests', status: 'PASS' }],
      },
    },
    [buildKey],
  );
  const signer = { keyId: keyIdOf(logKey), privateKey: logKey };
  const predicates: Record<string, unknown>[] = [];
  let prevDigest: string | null = null;
  const add = (fields: Record<string, unknown>): void => {
    const seq = predicates.length + 1;
    const unsealed = {
      id: `dec_${seq}`,
      release,
      env: 'prod',
      channel: 'stable',
      at: new Date(Date.UTC(2026, 0, 1) + seq * 1000).toISOString(),
      kind: 'health',
      rule: 'gate.evaluated',
      actor: 'controller',
      reason: null,
      from: 'rolling',
      to: 'rolling',
      stageIndex: 0,
      verdict: 'pass',
      holder: 'h1',
      prevDigest,
      ...fields,
    };
    const record = { ...unsealed, seq, digest: digestOf(canonicalBytes(unsealed)) };
    prevDigest = record.digest;
    predicates.push(record);
  };
  for (let i = 0; i < records; i++) {
    add({ inputs: { pack, gates: [{ metric: 'error_rate', measured: 0.01, threshold: 0.05 }] } });
  }
  add({
    kind: 'release.sealed',
    rule: 'evidence.sealed',
    inputs: sealInputs({
      release,
      pack,
      outcome: 'completed',
      records: predicates.map((p) => ({ seq: p['seq'] as number, digest: p['digest'] as string })),
    }),
  });
  const entries = predicates.map((p) =>
    logEntryOf(decisionStatement(p as { seq: number; digest: string }), signer),
  );
  const leaves = entries.map((e) => e.leafHash);
  const size = leaves.length;
  const lookup = treeLookup(leaves);
  const body = formatCheckpoint({
    origin,
    size,
    rootHash: rootOfLeafHashes(leaves),
    extensions: [],
  });
  const files = evidenceBundleFiles({
    release,
    checkpoint: signNote(body, origin, logKey),
    records: entries.map((entry, i) => ({
      seq: i + 1,
      envelope: entry.envelope,
      proof: {
        seq: i + 1,
        leafIndex: i,
        treeSize: size,
        proof: resolvePlan(inclusionPlan(i, size), lookup).map((h) =>
          Buffer.from(h).toString('base64'),
        ),
      },
    })),
    packs: [{ digest: pack, manifest }],
    buildKeys: [],
    logKey: { verifierKey: verifierKeyString(origin, logKey), publicKeyPem: pemOf(logKey) },
    witnesses: [],
  });
  return {
    files,
    trust: {
      logKey: noteVerifierOf(origin, logKey),
      buildKeys: [parsePublicKey(pemOf(buildKey))],
    },
  };
}

function pemOf(key: KeyObject): string {
  return createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
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
