/**
 * What closes a release's evidence: the activation attestation of each stage and the seal.
 *
 * - A stage attestation (record kind `stage.attested`) summarizes, when a stage ends, what the
 *   targets reported during it: for each target its last report (active pack, time) and its last
 *   activation attempt (pack, result, code, time), with counts. It is a decision record, so it
 *   is signed and logged like every other. The record holds the list of targets by digest
 *   (`attestationHead`: `targets` = `{digest, length}`, the SHA-256 of the list's JCS, as a
 *   release context holds its lists): a stage of 100,000 targets signs and logs a record of a
 *   few hundred bytes, and the list is kept once, content-addressed, beside it (a bundle carries
 *   it as `contexts/<hex>.json`, and a verifier checks it hashes to the digest signed).
 * - The seal (record kind `release.sealed`) is the last record of an ended release. It names
 *   every earlier record of the release by seq and digest, in order, the last of them, and the
 *   digest of that list, so a bundle proves it is complete: a dropped, duplicated or reordered
 *   record no longer matches the signed list.
 *
 * Both are pure functions of their inputs.
 */
import { canonicalBytes } from '../canonical-json.ts';
import { digestOf, isDigest } from '../digest.ts';
import type { Digest } from '../digest.ts';
import type { TargetAttempt, TargetReport } from '../release/health-gate.ts';
import { listDigest } from '../release/context-digest.ts';
import type { ContextListRef } from '../release/context-digest.ts';

export const STAGE_ATTESTED_KIND = 'stage.attested';
export const RELEASE_SEALED_KIND = 'release.sealed';

/** A record named by the seal. */
export interface SealedRecordRef {
  readonly seq: number;
  readonly digest: string;
}

/** The inputs of a seal record. */
export interface SealInputs {
  readonly release: string;
  /** the released pack */
  readonly pack: string;
  /** the state the release ended in */
  readonly outcome: string;
  /** every record of the release before the seal, in seq order */
  readonly records: readonly SealedRecordRef[];
  readonly count: number;
  readonly last: SealedRecordRef | null;
  /** sha256 of the JCS bytes of `records` */
  readonly recordsDigest: Digest;
}

/** sha256 of the JCS of a list of {seq, digest}: what a seal commits to. */
export function sealedRecordsDigest(records: readonly SealedRecordRef[]): Digest {
  return digestOf(canonicalBytes(records.map((r) => ({ seq: r.seq, digest: r.digest }))));
}

export function sealInputs(input: {
  release: string;
  pack: string;
  outcome: string;
  records: readonly SealedRecordRef[];
}): SealInputs {
  const records = [...input.records]
    .sort((a, b) => a.seq - b.seq)
    .map((r) => ({ seq: r.seq, digest: r.digest }));
  return {
    release: input.release,
    pack: input.pack,
    outcome: input.outcome,
    records,
    count: records.length,
    last: records.at(-1) ?? null,
    recordsDigest: sealedRecordsDigest(records),
  };
}

/** One target in a stage attestation. */
export interface AttestedTarget {
  readonly target: string;
  /** the pack its last report in the stage said it runs */
  readonly activePack: string | null;
  /** when that report was made */
  readonly reportedAt: string;
  /** its last activation attempt seen in the stage, if any */
  readonly lastAttempt: TargetAttempt | null;
}

export interface StageAttestationInputs {
  readonly release: string;
  readonly pack: string;
  readonly stageIndex: number;
  readonly stage: string;
  readonly window: { readonly from: string; readonly to: string };
  readonly targets: readonly AttestedTarget[];
  readonly summary: {
    readonly reporting: number;
    readonly onPack: number;
    readonly onOtherPack: number;
    readonly activationsOk: number;
    readonly activationsFailed: number;
  };
}

/** A stage attestation as its record holds it: the targets by digest and length. */
export type StageAttestationHead = Omit<StageAttestationInputs, 'targets'> & {
  readonly targets: ContextListRef;
};

/**
 * The attestation with its list of targets held by digest (what the record's inputs are).
 * `targetsDigest`, when the caller hashed the list's JCS bytes already, saves hashing it again.
 */
export function attestationHead(
  inputs: StageAttestationInputs,
  targetsDigest: Digest = listDigest(inputs.targets),
): StageAttestationHead {
  return { ...inputs, targets: { digest: targetsDigest, length: inputs.targets.length } };
}

/**
 * The list a stage attestation record holds by digest (its `inputs.targets`), or null for other
 * records and for attestations recorded with the list inline (before lists were held apart).
 */
export function attestedTargetsRef(record: {
  kind: unknown;
  inputs: unknown;
}): ContextListRef | null {
  if (record.kind !== STAGE_ATTESTED_KIND) return null;
  if (typeof record.inputs !== 'object' || record.inputs === null) return null;
  const targets = (record.inputs as Record<string, unknown>)['targets'];
  if (typeof targets !== 'object' || targets === null || Array.isArray(targets)) return null;
  const { digest, length } = targets as Record<string, unknown>;
  return isDigest(digest) && Number.isSafeInteger(length)
    ? { digest, length: length as number }
    : null;
}

/**
 * The attestation of stage `stageIndex` from the reports made during it (from ≤ at ≤ to): per
 * target its last report, and its last activation attempt of any report in the window; targets
 * sorted by id.
 */
export function stageAttestation(input: {
  release: string;
  pack: string;
  stageIndex: number;
  stage: string;
  from: string;
  to: string;
  reports: readonly TargetReport[];
}): StageAttestationInputs {
  const last = new Map<string, TargetReport>();
  const attempts = new Map<string, TargetAttempt>();
  const ordered = [...input.reports]
    .filter((r) => r.at >= input.from && r.at <= input.to)
    .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  for (const report of ordered) {
    last.set(report.targetId, report);
    const attempt = report.lastAttempt;
    if (attempt !== undefined && attempt.kind === 'activate') {
      const seen = attempts.get(report.targetId);
      if (seen === undefined || seen.at <= attempt.at) attempts.set(report.targetId, attempt);
    }
  }
  const targets: AttestedTarget[] = [...last.keys()].sort().map((id) => {
    const report = last.get(id) as TargetReport;
    const attempt = attempts.get(id);
    return {
      target: id,
      activePack: report.activePack,
      reportedAt: report.at,
      lastAttempt:
        attempt === undefined
          ? null
          : {
              kind: attempt.kind,
              pack: attempt.pack,
              result: attempt.result,
              ...(attempt.code === undefined ? {} : { code: attempt.code }),
              at: attempt.at,
            },
    };
  });
  const onPack = targets.filter((t) => t.activePack === input.pack).length;
  const activationsOf = (result: 'ok' | 'failed'): number =>
    targets.filter((t) => t.lastAttempt?.pack === input.pack && t.lastAttempt.result === result)
      .length;
  return {
    release: input.release,
    pack: input.pack,
    stageIndex: input.stageIndex,
    stage: input.stage,
    window: { from: input.from, to: input.to },
    targets,
    summary: {
      reporting: targets.length,
      onPack,
      onOtherPack: targets.length - onPack,
      activationsOk: activationsOf('ok'),
      activationsFailed: activationsOf('failed'),
    },
  };
}
