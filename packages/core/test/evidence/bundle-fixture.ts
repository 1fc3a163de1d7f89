/**
 * A release's evidence bundle made from scratch: a log whose records belong to several releases,
 * a release that ends with its seal, a checkpoint signed by a log key and cosigned by two
 * witnesses, inclusion proofs, and the released pack's manifest signed by a build key.
 */
import {
  canonicalBytes,
  CORE_VERSION,
  cosignatureLine,
  decide,
  createSignedManifest,
  decisionStatement,
  digestOf,
  evidenceBundleFiles,
  formatCheckpoint,
  inclusionProof,
  keyIdOf,
  logEntryOf,
  noteVerifierOf,
  NOTE_COSIGNATURE_V1,
  RELEASE_SEALED_KIND,
  releaseContextDigest,
  rootOfLeafHashes,
  sealInputs,
  signNote,
  STAGE_ATTESTED_KIND,
  stageAttestation,
  attestationHead,
  verifierKeyString,
} from '../../src/index.ts';
import type { BundleTrust, LogEntry, NoteVerifier } from '../../src/index.ts';
import { publicPem, sampleInput, seededKey, trustOf } from '../fixtures.ts';
import { at, context, release as releaseOf, simplePlan } from '../release/fixtures.ts';

export interface BundleFixture {
  files: Map<string, Uint8Array>;
  trust: BundleTrust;
  release: string;
  /** seqs of the release's records, the seal last */
  seqs: number[];
  witnesses: NoteVerifier[];
  /** the decision contexts the bundle carries, by digest */
  contexts: Map<string, unknown>;
}

const ORIGIN = 'lockgate/log/test';

/**
 * `releaseRecords` records of release rel_1 (then its seal) among `otherRecords` records of
 * other releases, interleaved. With `decided`, the release's records are instead the drafts core
 * `decide` returns for a requested release at its first tick (start, verification, first stage:
 * one call), recorded with the core version, and the bundle carries their context for replay.
 * With `attested`, the release's first record is a stage attestation of three targets, holding
 * them by digest, and the bundle carries the list.
 */
export function makeBundle(
  options: {
    releaseRecords?: number;
    otherRecords?: number;
    decided?: boolean;
    attested?: boolean;
  } = {},
): BundleFixture {
  const release = 'rel_1';
  const logKey = seededKey(101);
  const buildKey = seededKey(102);
  const witnessKeys = [seededKey(103), seededKey(104)];
  const others = options.otherRecords ?? 3;
  const { manifest, digest: pack } = createSignedManifest(sampleInput(), [buildKey]);
  const contexts = new Map<string, unknown>();
  const drafts: Record<string, unknown>[] = [];
  if (options.decided === true) {
    const decided = context(releaseOf(simplePlan()));
    // Named as the server names it: by its head's digest (the digest the drafts carry).
    contexts.set(releaseContextDigest(decided), JSON.parse(JSON.stringify(decided)));
    for (const draft of decide(decided, at(0)).decisions) {
      drafts.push({
        ...(JSON.parse(JSON.stringify(draft)) as Record<string, unknown>),
        coreVersion: CORE_VERSION,
      });
    }
  }
  const ours = options.decided === true ? drafts.length : (options.releaseRecords ?? 4);

  const signer = { keyId: keyIdOf(logKey), privateKey: logKey };
  const records: Record<string, unknown>[] = [];
  let prevDigest: string | null = null;
  const add = (fields: Record<string, unknown>): Record<string, unknown> => {
    const seq = records.length + 1;
    const unsealed = {
      id: `dec_${seq}`,
      env: 'prod',
      channel: 'stable',
      at: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
      rule: 'test.rule',
      actor: 'controller',
      reason: null,
      from: 'rolling',
      to: 'rolling',
      stageIndex: 0,
      verdict: 'ok',
      holder: null,
      prevDigest,
      ...fields,
    };
    const record = { ...unsealed, seq, digest: digestOf(canonicalBytes(unsealed)) };
    prevDigest = record.digest;
    records.push(record);
    return record;
  };
  const mine: Record<string, unknown>[] = [];
  let otherCount = 0;
  for (let i = 0; i < ours + others; i++) {
    if ((i % 2 === 0 && mine.length < ours) || otherCount === others) {
      const draft = drafts[mine.length];
      if (options.attested === true && mine.length === 0) {
        const attestation = attested(release, pack);
        contexts.set(attestationHead(attestation).targets.digest, attestation.targets);
        mine.push(
          add({ release, kind: STAGE_ATTESTED_KIND, inputs: attestationHead(attestation) }),
        );
        continue;
      }
      mine.push(add(draft ?? { release, kind: 'stage', inputs: { pack, step: i } }));
    } else {
      otherCount += 1;
      add({ release: 'rel_other', kind: 'stage', inputs: { step: i } });
    }
  }
  const seal = add({
    release,
    kind: RELEASE_SEALED_KIND,
    from: null,
    to: null,
    verdict: 'sealed',
    inputs: sealInputs({
      release,
      pack,
      outcome: 'completed',
      records: mine.map((r) => ({ seq: r['seq'] as number, digest: r['digest'] as string })),
    }),
  });
  mine.push(seal);
  add({ release: 'rel_other', kind: 'stage', inputs: { after: true } });

  const entries = records.map((record) =>
    logEntryOf(
      decisionStatement(record as { seq: number; digest: string } & Record<string, unknown>),
      signer,
    ),
  );
  const leaves = entries.map((e) => e.leafHash);
  const size = leaves.length;
  const body = formatCheckpoint({
    origin: ORIGIN,
    size,
    rootHash: rootOfLeafHashes(leaves),
    extensions: [],
  });
  const witnessNames = ['w.test/a', 'w.test/b'];
  const note =
    signNote(body, ORIGIN, logKey) +
    witnessKeys
      .map((k, i) => cosignatureLine(body, witnessNames[i] as string, k, 1_700_000_000 + i))
      .join('');
  const witnesses = witnessKeys.map((k, i) =>
    noteVerifierOf(witnessNames[i] as string, k, NOTE_COSIGNATURE_V1),
  );
  const files = evidenceBundleFiles({
    release,
    checkpoint: note,
    records: mine.map((record) => {
      const seq = record['seq'] as number;
      return {
        seq,
        envelope: (entries[seq - 1] as LogEntry).envelope,
        proof: {
          seq,
          leafIndex: seq - 1,
          treeSize: size,
          proof: inclusionProof(leaves, seq - 1).map((h) => Buffer.from(h).toString('base64')),
        },
      };
    }),
    packs: [{ digest: pack, manifest }],
    buildKeys: [{ keyId: keyIdOf(buildKey), publicKeyPem: publicPem(buildKey) }],
    logKey: {
      verifierKey: verifierKeyString(ORIGIN, logKey),
      publicKeyPem: publicPem(logKey),
    },
    witnesses: witnessKeys.map((k, i) =>
      verifierKeyString(witnessNames[i] as string, k, NOTE_COSIGNATURE_V1),
    ),
    contexts,
  });
  return {
    files,
    release,
    seqs: mine.map((r) => r['seq'] as number),
    witnesses,
    contexts,
    trust: {
      logKey: noteVerifierOf(ORIGIN, logKey),
      buildKeys: [trustOf(buildKey)],
      witnesses,
      minWitnesses: 2,
    },
  };
}

/** A stage attestation of three targets, two of them on the pack. */
function attested(release: string, pack: string): ReturnType<typeof stageAttestation> {
  return stageAttestation({
    release,
    pack,
    stageIndex: 0,
    stage: 'canary',
    from: '2026-01-01T00:00:00.000Z',
    to: '2026-01-01T00:10:00.000Z',
    reports: ['t1', 't2', 't3'].map((targetId, i) => ({
      targetId,
      at: `2026-01-01T00:0${i + 1}:00.000Z`,
      activePack: i === 2 ? 'sha256:old' : pack,
    })),
  });
}
