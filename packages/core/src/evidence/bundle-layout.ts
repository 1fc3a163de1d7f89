/**
 * The layout of a release's evidence bundle (docs/evidence.md specifies it for outsiders):
 *
 *   bundle.json                        the index (JCS): schema, release, record seqs, pack digests,
 *                                      build key ids, witness verifier keys
 *   checkpoint.txt                     the C2SP signed checkpoint with its cosignatures
 *   records/<seq>.dsse.json            each record's DSSE envelope (JCS), seq 10-digit zero-padded
 *   records/<seq>.proof.json           its RFC 9162 inclusion proof in the checkpoint's tree (JCS)
 *   packs/<hex digest>.manifest.json   the pack manifests with their signatures (JCS)
 *   keys/log.vkey                      the log's note verifier key
 *   keys/log.pem                       the log's public key (SPKI PEM): verifies the envelopes
 *   keys/build/<key id>.pem            the build keys whose signatures are on the manifests
 *   contexts/<hex digest>.json         the decision contexts the records name (`inputs.context`),
 *                                      JCS, named by the hex SHA-256 of their bytes, for replay;
 *                                      and the lists of targets stage attestations hold by digest
 *
 * Every path is derived from the index, so the index holds nothing a verifier must trust: the
 * signed records, proofs and checkpoint say everything, and the keys it carries are only for
 * convenience (a verifier brings its own).
 */
import { canonicalBytes } from '../canonical-json.ts';
import { LockgateError } from '../errors.ts';
import type { PackManifest } from '../manifest.ts';
import type { DsseEnvelope } from '../release/channel-index.ts';

export const BUNDLE_SCHEMA = 'lockgate.evidence-bundle/v1';
export const BUNDLE_INDEX_FILE = 'bundle.json';
export const BUNDLE_CHECKPOINT_FILE = 'checkpoint.txt';
export const BUNDLE_LOG_VKEY_FILE = 'keys/log.vkey';
export const BUNDLE_LOG_PEM_FILE = 'keys/log.pem';
export const BUNDLE_CONTEXTS_DIR = 'contexts';

export interface BundleIndex {
  readonly schema: typeof BUNDLE_SCHEMA;
  readonly release: string;
  /** every record in the bundle, in seq order; the last is the release's seal */
  readonly records: readonly number[];
  /** the pack manifests in the bundle */
  readonly packs: readonly string[];
  /** the build keys in keys/build/ */
  readonly buildKeys: readonly string[];
  /** the note verifier keys of the witnesses the server trusts (informative) */
  readonly witnesses: readonly string[];
}

/** The inclusion proof file of a record. */
export interface BundleProof {
  readonly seq: number;
  readonly leafIndex: number;
  readonly treeSize: number;
  /** base64 hashes, leaf side first */
  readonly proof: readonly string[];
}

export function recordEnvelopePath(seq: number): string {
  return `records/${String(seq).padStart(10, '0')}.dsse.json`;
}

export function recordProofPath(seq: number): string {
  return `records/${String(seq).padStart(10, '0')}.proof.json`;
}

export function packManifestPath(digest: string): string {
  return `packs/${digest.replace(/^sha256:/, '')}.manifest.json`;
}

export function buildKeyPath(keyId: string): string {
  return `keys/build/${keyId}.pem`;
}

/** The file of the context a record names by its digest (`sha256:<hex>`). */
export function contextPath(digest: string): string {
  return `${BUNDLE_CONTEXTS_DIR}/${digest.replace(/^sha256:/, '')}.json`;
}

/** What the server hands over to make a bundle. */
export interface BundleInput {
  readonly release: string;
  /** the checkpoint note, with cosignatures */
  readonly checkpoint: string;
  readonly records: readonly {
    readonly seq: number;
    readonly envelope: DsseEnvelope;
    readonly proof: BundleProof;
  }[];
  readonly packs: readonly { readonly digest: string; readonly manifest: PackManifest }[];
  readonly buildKeys: readonly { readonly keyId: string; readonly publicKeyPem: string }[];
  readonly logKey: { readonly verifierKey: string; readonly publicKeyPem: string };
  readonly witnesses: readonly string[];
  /** the decision contexts the records name, by digest (JSON), for replay */
  readonly contexts?: ReadonlyMap<string, unknown>;
}

/** The files of a bundle (write them with writeEvidenceBundle, with BUNDLE_CONTEXTS_DIR). */
export function evidenceBundleFiles(input: BundleInput): Map<string, Uint8Array> {
  const seqs = input.records.map((r) => r.seq);
  if (seqs.some((seq, i) => i > 0 && seq <= (seqs[i - 1] as number))) {
    throw new LockgateError('BUNDLE_INVALID', 'Bundle records are in strictly increasing seq.');
  }
  const text = (s: string): Uint8Array => Buffer.from(s, 'utf8');
  const index: BundleIndex = {
    schema: BUNDLE_SCHEMA,
    release: input.release,
    records: seqs,
    packs: input.packs.map((p) => p.digest),
    buildKeys: input.buildKeys.map((k) => k.keyId),
    witnesses: [...input.witnesses],
  };
  const files = new Map<string, Uint8Array>();
  files.set(BUNDLE_INDEX_FILE, canonicalBytes(index));
  files.set(BUNDLE_CHECKPOINT_FILE, text(input.checkpoint));
  for (const record of input.records) {
    files.set(recordEnvelopePath(record.seq), canonicalBytes(record.envelope));
    files.set(recordProofPath(record.seq), canonicalBytes(record.proof));
  }
  for (const pack of input.packs) {
    files.set(packManifestPath(pack.digest), canonicalBytes(pack.manifest));
  }
  files.set(BUNDLE_LOG_VKEY_FILE, text(`${input.logKey.verifierKey}\n`));
  files.set(BUNDLE_LOG_PEM_FILE, text(input.logKey.publicKeyPem));
  for (const key of input.buildKeys) files.set(buildKeyPath(key.keyId), text(key.publicKeyPem));
  for (const [digest, context] of input.contexts ?? new Map<string, unknown>()) {
    files.set(contextPath(digest), canonicalBytes(context));
  }
  return files;
}
