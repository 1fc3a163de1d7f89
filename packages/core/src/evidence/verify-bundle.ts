/**
 * Offline verification of a release's evidence bundle, from its files as bytes (no I/O, so the
 * console can run it in a browser later). Fails with the first problem, each kind its own code,
 * details.item naming the file or record:
 *
 * 1. bundle.json is the JCS of a valid index (BUNDLE_INVALID); its record seqs strictly increase
 *    (RECORD_MISSING: a duplicated or reordered record).
 * 2. checkpoint.txt is a note signed by the trusted log key (CHECKPOINT_SIGNER_UNTRUSTED when it
 *    carries no signature by that key or is of another origin, CHECKPOINT_SIGNATURE_INVALID when
 *    the signature does not verify or the note does not parse); each cosignature by a trusted
 *    witness verifies (COSIGNATURE_INVALID) and at least `minWitnesses` of them cosigned
 *    (WITNESS_QUORUM_NOT_MET).
 * 3. For each record, in seq order: its envelope is present (RECORD_MISSING), JCS, signed by the
 *    log key over the DSSE PAE, and its record's digest is its own (RECORD_SIGNATURE_INVALID); it
 *    holds the record of that seq (RECORD_MISSING) of the bundle's release (BUNDLE_INVALID); its
 *    proof is present, JCS, for that leaf in the checkpoint's tree, and leads to the checkpoint
 *    root (RECORD_NOT_INCLUDED).
 * 4. Completeness: the last record is the release's seal and it names exactly the bundle's other
 *    records, by seq and digest, in order (RECORD_MISSING).
 * 5. Every pack manifest listed is present, JCS, has the digest it is listed under and a
 *    signature by a trusted build key (the PACK_* codes); the released pack is among them.
 * 6. Replay: every record that names a decision context (`inputs.context`) is decided again by
 *    the current core on the context the bundle carries (`contexts/<hex>.json`, core
 *    `replayRecords`), and each replayed draft's digest must equal the recorded one
 *    (REPLAY_MISMATCH, naming the record and the first differing field; a missing or edited
 *    context is a mismatch too).
 * 7. Each stage attestation that holds its targets by digest (`inputs.targets` = `{digest,
 *    length}`) has its list in the bundle (`contexts/<hex>.json`): bytes that hash to that digest,
 *    a JSON array of that length (ATTESTATION_INVALID when absent or not so).
 * 8. No file outside the layout (BUNDLE_INVALID): a context file no record names is one.
 *
 * Record checks (3) are independent per record, so a caller may run them in parallel with
 * `verifyBundleRecord` and pass the facts to `finishBundleVerification`.
 */
import canonicalize from 'canonicalize';
import { LockgateError } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';
import { canonicalJson } from '../canonical-json.ts';
import { digestOf } from '../digest.ts';
import { verifyManifest } from '../pack.ts';
import type { PublicKeyInfo } from '../signing.ts';
import { keyIdOf } from '../signing.ts';
import { verifyCheckpoint, verifiedWitnesses } from './checkpoint.ts';
import { verifyEnvelope } from './dsse.ts';
import { leafHash, verifyInclusion } from './merkle.ts';
import { parseVerifierKey, strictBase64, verifierKeyString } from './signed-note.ts';
import type { NoteVerifier } from './signed-note.ts';
import type { ContextListRef } from '../release/context-digest.ts';
import { IN_TOTO_PAYLOAD_TYPE } from './statement.ts';
import { attestedTargetsRef, RELEASE_SEALED_KIND, sealedRecordsDigest } from './release-seal.ts';
import { contextIntact, replayRecords } from './replay-records.ts';
import type { ReplayContext, ReplayRecord } from './replay-records.ts';
import {
  BUNDLE_CHECKPOINT_FILE,
  contextPath,
  BUNDLE_INDEX_FILE,
  BUNDLE_LOG_PEM_FILE,
  BUNDLE_LOG_VKEY_FILE,
  BUNDLE_SCHEMA,
  buildKeyPath,
  packManifestPath,
  recordEnvelopePath,
  recordProofPath,
} from './bundle-layout.ts';
import type { BundleIndex } from './bundle-layout.ts';

export type BundleFiles = ReadonlyMap<string, Uint8Array>;

export interface BundleTrust {
  /** the log's note verifier key */
  readonly logKey: NoteVerifier;
  /** trusted build keys, for the pack manifests */
  readonly buildKeys: readonly PublicKeyInfo[];
  /** trusted witness verifier keys (type 0x04) */
  readonly witnesses?: readonly NoteVerifier[];
  readonly minWitnesses?: number;
}

/** What the record checks need besides the files: all plain data, so it crosses threads. */
export interface RecordCheck {
  readonly release: string;
  /** the log verifier key string */
  readonly logKey: string;
  readonly treeSize: number;
  /** base64 root hash of the checkpoint */
  readonly rootHash: string;
}

/** What a verified record says, for the completeness check. */
export interface RecordFacts {
  readonly seq: number;
  readonly digest: string;
  readonly kind: string;
  /** the seal's inputs, for the seal only */
  readonly seal?: Record<string, unknown>;
  /** the record, when it names a decision context (for replay) */
  readonly replay?: ReplayRecord;
  /** the list of targets a stage attestation holds by digest */
  readonly attested?: ContextListRef;
}

export interface OpenedBundle {
  readonly index: BundleIndex;
  readonly check: RecordCheck;
  readonly origin: string;
  readonly witnesses: readonly string[];
}

export interface BundleReport {
  readonly release: string;
  readonly origin: string;
  readonly treeSize: number;
  readonly records: number;
  readonly outcome: string;
  readonly pack: string;
  readonly packs: readonly { readonly digest: string; readonly signedBy: readonly string[] }[];
  readonly witnesses: readonly string[];
  readonly contexts: number;
  /** the replay of every decision that names a context: all matched, or verification failed */
  readonly replay: {
    readonly total: number;
    readonly matching: number;
    readonly mismatches: number;
    readonly matchRate: number;
    /** records that decide nothing core can re-run (the creation, attestations, the seal) */
    readonly skipped: number;
  };
}

/** Every check, in order, on one thread. */
export function verifyEvidenceBundle(files: BundleFiles, trust: BundleTrust): BundleReport {
  const opened = openEvidenceBundle(files, trust);
  const verifier = recordVerifier(opened.check);
  const facts = opened.index.records.map((seq) => verifier(files, seq));
  return finishBundleVerification(files, opened, facts, trust);
}

/** Steps 1 and 2: the index and the checkpoint. */
export function openEvidenceBundle(files: BundleFiles, trust: BundleTrust): OpenedBundle {
  const index = parseIndex(files.get(BUNDLE_INDEX_FILE));
  index.records.forEach((seq, i) => {
    const before = index.records[i - 1];
    if (before !== undefined && seq <= before) {
      throw fail(
        'RECORD_MISSING',
        `record ${seq}`,
        seq === before
          ? `Record ${seq} is in the bundle twice.`
          : `Record ${seq} comes after record ${before}: records are out of order.`,
      );
    }
  });
  const noteBytes = files.get(BUNDLE_CHECKPOINT_FILE);
  if (noteBytes === undefined) {
    throw fail('BUNDLE_INVALID', BUNDLE_CHECKPOINT_FILE, 'The bundle has no checkpoint.txt.');
  }
  const noteText = utf8(noteBytes);
  if (noteText === null) {
    throw fail(
      'CHECKPOINT_SIGNATURE_INVALID',
      BUNDLE_CHECKPOINT_FILE,
      'The checkpoint is not UTF-8.',
    );
  }
  let verified: ReturnType<typeof verifyCheckpoint>;
  try {
    verified = verifyCheckpoint(noteText, trust.logKey);
  } catch (error) {
    throw rethrow(error, BUNDLE_CHECKPOINT_FILE, {
      CHECKPOINT_INVALID: 'CHECKPOINT_SIGNATURE_INVALID',
    });
  }
  let witnesses: string[];
  try {
    witnesses = verifiedWitnesses(verified.note, trust.witnesses ?? []);
  } catch (error) {
    throw rethrow(error, BUNDLE_CHECKPOINT_FILE, {});
  }
  const min = trust.minWitnesses ?? 0;
  if (witnesses.length < min) {
    throw fail(
      'WITNESS_QUORUM_NOT_MET',
      BUNDLE_CHECKPOINT_FILE,
      `${witnesses.length} trusted witness(es) cosigned the checkpoint; ${min} are required.`,
      { cosigned: witnesses, required: min },
    );
  }
  const { checkpoint } = verified;
  return {
    index,
    origin: checkpoint.origin,
    witnesses,
    check: {
      release: index.release,
      logKey: verifierKeyString(trust.logKey.name, trust.logKey.key),
      treeSize: checkpoint.size,
      rootHash: Buffer.from(checkpoint.rootHash).toString('base64'),
    },
  };
}

/** A function checking one record (step 3) against a RecordCheck. */
export function recordVerifier(
  check: RecordCheck,
): (files: BundleFiles, seq: number) => RecordFacts {
  const logKey = parseVerifierKey(check.logKey);
  const dsseKey = { keyId: keyIdOf(logKey.key), publicKey: logKey.key };
  const root = Buffer.from(check.rootHash, 'base64');
  return (files, seq) => {
    const envelopePath = recordEnvelopePath(seq);
    const envelopeBytes = files.get(envelopePath);
    if (envelopeBytes === undefined) {
      throw fail('RECORD_MISSING', envelopePath, `Record ${seq} is listed but not in the bundle.`);
    }
    const envelope = canonicalObject(envelopeBytes);
    if (envelope === null) {
      throw fail(
        'RECORD_SIGNATURE_INVALID',
        envelopePath,
        `The envelope of record ${seq} is not JCS JSON.`,
      );
    }
    let payload: Uint8Array;
    try {
      payload = verifyEnvelope(envelope, dsseKey, IN_TOTO_PAYLOAD_TYPE);
    } catch (error) {
      throw rethrow(error, envelopePath, { ENVELOPE_INVALID: 'RECORD_SIGNATURE_INVALID' });
    }
    // signed bytes: parsed, not re-canonicalized (the signature already binds every byte)
    const statement = jsonObject(payload);
    const predicate = (statement?.['predicate'] ?? null) as Record<string, unknown> | null;
    if (
      statement === null ||
      statement['_type'] !== 'https://in-toto.io/Statement/v1' ||
      predicate === null ||
      typeof predicate !== 'object'
    ) {
      throw fail(
        'RECORD_SIGNATURE_INVALID',
        envelopePath,
        `Record ${seq} is not an in-toto statement.`,
      );
    }
    const { seq: recordSeq, digest, ...unsealed } = predicate;
    if (typeof digest !== 'string' || digestOf(jcsOfParsed(unsealed)) !== digest) {
      throw fail(
        'RECORD_SIGNATURE_INVALID',
        envelopePath,
        `Record ${seq}'s digest is not its own.`,
      );
    }
    if (recordSeq !== seq) {
      throw fail(
        'RECORD_MISSING',
        envelopePath,
        `The envelope listed as record ${seq} holds record ${String(recordSeq)}.`,
      );
    }
    if (predicate['release'] !== check.release) {
      throw fail(
        'BUNDLE_INVALID',
        envelopePath,
        `Record ${seq} is not of release ${check.release}.`,
      );
    }
    const proofPath = recordProofPath(seq);
    const proofBytes = files.get(proofPath);
    const proof = proofBytes === undefined ? null : canonicalObject(proofBytes);
    const hashes = Array.isArray(proof?.['proof'])
      ? (proof['proof'] as unknown[]).map((h) => (typeof h === 'string' ? strictBase64(h) : null))
      : null;
    if (
      proof === null ||
      proof['seq'] !== seq ||
      proof['leafIndex'] !== seq - 1 ||
      proof['treeSize'] !== check.treeSize ||
      Object.keys(proof).length !== 4 ||
      hashes === null ||
      hashes.some((h) => h === null) ||
      !verifyInclusion(seq - 1, check.treeSize, leafHash(payload), hashes as Uint8Array[], root)
    ) {
      throw fail(
        'RECORD_NOT_INCLUDED',
        proofPath,
        `Record ${seq} is not proven included in the checkpoint's tree of ${check.treeSize}.`,
      );
    }
    const kind = typeof predicate['kind'] === 'string' ? predicate['kind'] : '';
    const inputs = predicate['inputs'];
    const named =
      typeof inputs === 'object' && inputs !== null
        ? (inputs as Record<string, unknown>)['context']
        : undefined;
    const attested = attestedTargetsRef({ kind, inputs });
    return {
      seq,
      digest,
      kind,
      ...(kind === RELEASE_SEALED_KIND && typeof inputs === 'object' && inputs !== null
        ? { seal: inputs as Record<string, unknown> }
        : {}),
      ...(typeof named === 'string' ? { replay: predicate as unknown as ReplayRecord } : {}),
      ...(attested === null ? {} : { attested }),
    };
  };
}

/** Steps 4 to 6, after every record checked (facts in the index's order). */
export function finishBundleVerification(
  files: BundleFiles,
  opened: OpenedBundle,
  facts: readonly RecordFacts[],
  trust: BundleTrust,
): BundleReport {
  const { index } = opened;
  const sealFact = facts.at(-1);
  const seal = sealFact?.seal;
  if (sealFact === undefined || seal === undefined) {
    const sealed = facts.find((f) => f.seal !== undefined);
    throw fail(
      'RECORD_MISSING',
      sealed === undefined ? 'seal' : `record ${sealed.seq}`,
      sealed === undefined
        ? `The bundle holds no seal of release ${index.release}: it cannot prove it is complete.`
        : `The seal (record ${sealed.seq}) is not the last record of the bundle.`,
    );
  }
  const named = Array.isArray(seal['records']) ? (seal['records'] as unknown[]) : [];
  const others = facts.slice(0, -1);
  for (let i = 0; i < Math.max(named.length, others.length); i++) {
    const want = named[i] as { seq?: unknown; digest?: unknown } | undefined;
    const have = others[i];
    if (
      want === undefined ||
      have === undefined ||
      want.seq !== have.seq ||
      want.digest !== have.digest
    ) {
      const item = want === undefined ? `record ${have?.seq}` : `record ${String(want.seq)}`;
      throw fail(
        'RECORD_MISSING',
        item,
        want === undefined
          ? `Record ${have?.seq} is not one the seal names.`
          : `The seal names record ${String(want.seq)} here; the bundle has ${
              have === undefined ? 'nothing' : `record ${have.seq}`
            }.`,
        {
          expected: want ?? null,
          found: have === undefined ? null : { seq: have.seq, digest: have.digest },
        },
      );
    }
  }
  const refs = others.map((f) => ({ seq: f.seq, digest: f.digest }));
  if (seal['count'] !== refs.length || seal['recordsDigest'] !== sealedRecordsDigest(refs)) {
    throw fail('RECORD_MISSING', `record ${sealFact.seq}`, 'The seal does not add up to its list.');
  }
  if (seal['release'] !== index.release) {
    throw fail('BUNDLE_INVALID', `record ${sealFact.seq}`, 'The seal is of another release.');
  }

  const pack = typeof seal['pack'] === 'string' ? seal['pack'] : '';
  const packs: { digest: string; signedBy: string[] }[] = [];
  for (const digest of index.packs) {
    const path = packManifestPath(digest);
    const bytes = files.get(path);
    if (bytes === undefined) {
      throw fail(
        'PACK_MANIFEST_INVALID',
        path,
        `The manifest of pack ${digest} is not in the bundle.`,
      );
    }
    const text = utf8(bytes);
    let value: unknown = null;
    try {
      value = text === null ? null : JSON.parse(text);
    } catch {
      value = null;
    }
    if (value === null || canonicalize(value) !== text) {
      throw fail('PACK_MANIFEST_INVALID', path, `The manifest of pack ${digest} is not JCS JSON.`);
    }
    try {
      const verified = verifyManifest(value, {
        trustedKeys: [...trust.buildKeys],
        expectedDigest: digest as `sha256:${string}`,
      });
      packs.push({ digest, signedBy: verified.signedBy });
    } catch (error) {
      throw rethrow(error, path, {});
    }
  }
  if (!index.packs.includes(pack)) {
    throw fail(
      'BUNDLE_INVALID',
      BUNDLE_INDEX_FILE,
      `The manifest of the released pack ${pack} is not in the bundle.`,
    );
  }

  const expected = new Set<string>([
    BUNDLE_INDEX_FILE,
    BUNDLE_CHECKPOINT_FILE,
    BUNDLE_LOG_VKEY_FILE,
    BUNDLE_LOG_PEM_FILE,
    ...index.records.flatMap((seq) => [recordEnvelopePath(seq), recordProofPath(seq)]),
    ...index.packs.map(packManifestPath),
    ...index.buildKeys.map(buildKeyPath),
  ]);
  for (const keyId of index.buildKeys) {
    if (!files.has(buildKeyPath(keyId))) {
      throw fail('BUNDLE_INVALID', buildKeyPath(keyId), `Build key ${keyId} is listed but absent.`);
    }
  }
  const replayed = facts.flatMap((f) => (f.replay === undefined ? [] : [f.replay]));
  for (const record of replayed) expected.add(contextPath(record.inputs['context'] as string));
  const replay = replayBundle(files, replayed, facts.length);
  for (const fact of facts) {
    if (fact.attested === undefined) continue;
    expected.add(contextPath(fact.attested.digest));
    checkAttestedTargets(files, fact.seq, fact.attested);
  }
  let contexts = 0;
  for (const name of files.keys()) {
    if (!expected.has(name)) {
      throw fail(
        'BUNDLE_INVALID',
        name,
        `The bundle holds ${name}, which its layout does not name.`,
      );
    }
    if (name.startsWith('contexts/')) contexts += 1;
  }
  return {
    release: index.release,
    origin: opened.origin,
    treeSize: opened.check.treeSize,
    records: facts.length,
    outcome: typeof seal['outcome'] === 'string' ? seal['outcome'] : '',
    pack,
    packs,
    witnesses: opened.witnesses,
    contexts,
    replay,
  };
}

/** Step 7: the list of targets an attestation holds by digest is carried, and is that list. */
function checkAttestedTargets(files: BundleFiles, seq: number, ref: ContextListRef): void {
  const path = contextPath(ref.digest);
  const bytes = files.get(path);
  const problem =
    bytes === undefined
      ? 'is not in the bundle'
      : digestOf(bytes) !== ref.digest
        ? 'does not hash to the digest the record names'
        : (jsonArrayLength(bytes) ?? -1) !== ref.length
          ? `is not a list of the ${ref.length} targets the record names`
          : null;
  if (problem !== null) {
    throw fail(
      'ATTESTATION_INVALID',
      `record ${seq}`,
      `The list of targets stage attestation ${seq} holds by digest (${path}) ${problem}.`,
      { path, digest: ref.digest, length: ref.length },
    );
  }
}

function jsonArrayLength(bytes: Uint8Array): number | null {
  const text = utf8(bytes);
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.length : null;
  } catch {
    return null;
  }
}

/** Step 6: every decision naming a context, decided again on the context the bundle carries. */
function replayBundle(
  files: BundleFiles,
  records: readonly ReplayRecord[],
  inBundle: number,
): BundleReport['replay'] {
  const contextOf = (digest: string): ReplayContext | null => {
    const bytes = files.get(contextPath(digest));
    if (bytes === undefined) return null;
    const context = jsonObject(bytes);
    return { context, intact: contextIntact(context, digest) };
  };
  const figures = replayRecords(records, contextOf);
  const first = figures.mismatched[0];
  if (first !== undefined) {
    const why =
      first.problem === 'field'
        ? `${first.field ?? 'the draft'} was recorded as ${JSON.stringify(first.expected)}, replays as ${JSON.stringify(first.actual)}`
        : first.problem === 'context_missing'
          ? 'the bundle does not carry the context it was decided on'
          : first.problem === 'refused'
            ? `the current core refuses the call (${String(first.actual)})`
            : first.problem.replace('_', ' ');
    const edited = first.contextIntact === false ? '; its context was changed' : '';
    throw fail(
      'REPLAY_MISMATCH',
      `record ${first.seq}`,
      `Decision ${first.seq} (${first.rule}) does not replay: ${why}${edited}. ${figures.matching} of ${figures.total} decisions replay.`,
      {
        total: figures.total,
        matching: figures.matching,
        mismatches: figures.mismatches,
        mismatched: figures.mismatched,
      },
    );
  }
  return {
    total: figures.total,
    matching: figures.matching,
    mismatches: figures.mismatches,
    matchRate: figures.matchRate,
    skipped: inBundle - figures.total,
  };
}

function parseIndex(bytes: Uint8Array | undefined): BundleIndex {
  const bad = (why: string): never => {
    throw fail('BUNDLE_INVALID', BUNDLE_INDEX_FILE, `bundle.json ${why}.`);
  };
  if (bytes === undefined) return bad('is missing');
  const value = canonicalObject(bytes);
  if (value === null) return bad('is not JCS JSON');
  const { schema, release, records, packs, buildKeys, witnesses } = value;
  if (Object.keys(value).length !== 6) return bad('holds other fields than the layout');
  if (schema !== BUNDLE_SCHEMA) return bad(`is not ${BUNDLE_SCHEMA}`);
  if (typeof release !== 'string' || release === '') return bad('names no release');
  const isSeq = (n: unknown): boolean => Number.isSafeInteger(n) && (n as number) > 0;
  if (!Array.isArray(records) || records.length === 0 || !records.every(isSeq)) {
    return bad('lists no records');
  }
  const strings = (list: unknown, pattern: RegExp): boolean =>
    Array.isArray(list) && list.every((s) => typeof s === 'string' && pattern.test(s));
  if (!strings(packs, /^sha256:[0-9a-f]{64}$/)) return bad('lists a pack that is not a digest');
  if (!strings(buildKeys, /^[0-9a-f]{64}$/)) return bad('lists a build key that is not a key id');
  if (!Array.isArray(witnesses) || !witnesses.every(isVerifierKey)) {
    return bad('lists a witness that is not a verifier key');
  }
  return value as unknown as BundleIndex;
}

function isVerifierKey(text: unknown): boolean {
  try {
    return typeof text === 'string' && verifierKeyText(parseVerifierKey(text)) === text;
  } catch {
    return false;
  }
}

function verifierKeyText(v: NoteVerifier): string {
  const id = Buffer.from(v.keyId).toString('hex');
  return `${v.name}+${id}+${Buffer.concat([Uint8Array.of(v.type), v.publicKey]).toString('base64')}`;
}

const DECODER = new TextDecoder('utf-8', { fatal: true });

function utf8(bytes: Uint8Array): string | null {
  try {
    return DECODER.decode(bytes);
  } catch {
    return null;
  }
}

/** The JSON object the bytes hold; null when they hold none. */
function jsonObject(bytes: Uint8Array): Record<string, unknown> | null {
  const text = utf8(bytes);
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** The JSON object the bytes hold when they are exactly its JCS form; null otherwise. */
function canonicalObject(bytes: Uint8Array): Record<string, unknown> | null {
  const text = utf8(bytes);
  if (text === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  // JCS is JSON.stringify with every object's keys in UTF-16 order (RFC 8785 §3.2): when the
  // parsed value's keys are already in that order, the cheap serialization decides.
  const canonical = keysInOrder(value)
    ? JSON.stringify(value) === text
    : canonicalize(value) === text;
  return canonical ? (value as Record<string, unknown>) : null;
}

/** canonicalJson of a value parsed from JSON text (no undefined, no toJSON): fast when in order. */
function jcsOfParsed(value: unknown): string {
  return keysInOrder(value) ? JSON.stringify(value) : canonicalJson(value);
}

/** Whether every object in a parsed JSON value lists its keys in UTF-16 code unit order. */
function keysInOrder(value: unknown): boolean {
  if (Array.isArray(value)) return value.every(keysInOrder);
  if (typeof value !== 'object' || value === null) return true;
  const keys = Object.keys(value);
  for (let i = 1; i < keys.length; i++) {
    if ((keys[i - 1] as string) >= (keys[i] as string)) return false;
  }
  return keys.every((key) => keysInOrder((value as Record<string, unknown>)[key]));
}

function fail(
  code: ErrorCode,
  item: string,
  message: string,
  details: Record<string, unknown> = {},
): LockgateError {
  return new LockgateError(code, `${item}: ${message}`, { details: { item, ...details } });
}

/** A LockgateError with its code mapped (and the item named); anything else as is. */
function rethrow(
  error: unknown,
  item: string,
  map: Partial<Record<ErrorCode, ErrorCode>>,
): unknown {
  if (!(error instanceof LockgateError)) return error;
  const code = map[error.code] ?? error.code;
  return new LockgateError(code, `${item}: ${error.message}`, {
    cause: error,
    details: { item, ...error.details },
  });
}
