/**
 * A release's evidence bundle of N records plus its seal, made in memory: a log of N + 1 leaves
 * signed by a fresh log key, each record with its inclusion proof, one signed pack manifest.
 * Used by the evidence verify benchmark and by the test of the parallel verifier.
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
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
  resolvePlan,
  rootOfLeafHashes,
  sealInputs,
  signNote,
  treeLookup,
  verifierKeyString,
} from '@lockgate/core';
import type { BundleTrust } from '@lockgate/core';

export function makeBundle(records: number): {
  files: Map<string, Uint8Array>;
  trust: BundleTrust;
} {
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
