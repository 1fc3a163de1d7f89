/**
 * A release's evidence: the timeline of what is sealed and what is pending, and the bundle that
 * carries it offline (layout in core bundle-layout.ts and docs/evidence.md).
 *
 * A record is *sealed* when it is in the log and covered by the latest signed checkpoint;
 * *pending* otherwise. A release's bundle exists once the release ended (its `release.sealed`
 * record is its last); before that, RELEASE_NOT_SEALED.
 */
import {
  attestedTargetsRef,
  BUNDLE_CONTEXTS_DIR,
  evidenceBundleFiles,
  isTerminal,
  LockgateError,
  parseCheckpoint,
  parseManifest,
  parseNote,
  RELEASE_SEALED_KIND,
  STAGE_ATTESTED_KIND,
  writeEvidenceBundle,
} from '@lockgate/core';
import type { BundleInput, PackManifest } from '@lockgate/core';
import type { StoresOf } from '../../stores.ts';
import type { DecisionRecord } from '../decisions/public.ts';
import type { LogService } from '../log/public.ts';

export type EvidenceStatus = 'sealed' | 'pending';

export interface EvidenceRecord {
  seq: number;
  digest: string;
  at: string;
  kind: string;
  rule: string;
  actor: string;
  verdict: string;
  stageIndex: number | null;
  status: EvidenceStatus;
}

/** One checkpoint of a release's run: requested, verified, approvals, each stage, end, seal. */
export interface EvidenceCheckpoint {
  name: string;
  /**
   * sealed: reached and every record sealed; pending: reached, some record not yet sealed;
   * not_reached (a stage the release never entered, or not yet); not_required (approvals of a
   * plan that asks for none)
   */
  status: EvidenceStatus | 'not_reached' | 'not_required';
  stageIndex?: number;
  stage?: string;
  /** each stage's gate verdicts as recorded when it was judged (values, thresholds, targets, samples) */
  gates?: unknown[];
  /** the stage's activation attestation: which targets reported which pack, when, with which result */
  attestation?: Record<string, unknown> | null;
  outcome?: string;
  records: EvidenceRecord[];
}

export interface ReleaseEvidence {
  release: string;
  state: string;
  pack: string;
  log: { origin: string; checkpointSize: number };
  sealed: boolean;
  seal: { seq: number; digest: string; recordsDigest: string; count: number } | null;
  checkpoints: EvidenceCheckpoint[];
  /**
   * names of the checkpoints still to be sealed: pending ones, and while the release runs, those
   * not reached yet (an ended release's unreached stages never will be; its seal will)
   */
  pending: string[];
}

export interface EvidenceService {
  timeline(release: string): Promise<ReleaseEvidence>;
  /** The release's bundle as .tar.gz bytes; RELEASE_NOT_SEALED before it ended. */
  bundle(release: string): Promise<{ bytes: Uint8Array; records: number; treeSize: number }>;
}

const PAGE = 1000;

/** The stage a record is about: the one it judged (inputs.stage) when it names one. */
function stageOfRecord(record: DecisionRecord): number | null {
  const stage = record.inputs['stage'] as { index?: unknown } | undefined;
  return typeof stage?.index === 'number' ? stage.index : record.stageIndex;
}

export function createEvidenceService(deps: {
  stores: StoresOf<'releases' | 'decisions' | 'log' | 'packs' | 'trust' | 'contexts'>;
  log: LogService;
}): EvidenceService {
  const { stores, log } = deps;

  const recordsOf = async (id: string): Promise<DecisionRecord[]> => {
    const found = await stores.releases.find(id);
    if (found === null) {
      throw new LockgateError('RELEASE_NOT_FOUND', `No release has id ${id}.`, {
        details: { id },
      });
    }
    const records: DecisionRecord[] = [];
    for (let afterSeq = 0; ;) {
      const page = await stores.decisions.list({ release: id, afterSeq, limit: PAGE });
      records.push(...page);
      const last = page.at(-1);
      if (last === undefined || page.length < PAGE) break;
      afterSeq = last.seq;
    }
    return records;
  };

  return {
    async timeline(id) {
      const found = await stores.releases.find(id);
      const records = await recordsOf(id);
      const release = found?.release;
      if (release === undefined) throw new Error('unreachable');
      const checkpoint = await log.checkpoint();
      const { origin, size } = parseCheckpoint(parseNote(checkpoint.note).text);
      const view = (r: DecisionRecord): EvidenceRecord => ({
        seq: r.seq,
        digest: r.digest,
        at: r.at,
        kind: r.kind,
        rule: r.rule,
        actor: r.actor,
        verdict: r.verdict,
        stageIndex: r.stageIndex,
        status: r.seq <= size ? 'sealed' : 'pending',
      });
      const group = (
        name: string,
        list: DecisionRecord[],
        extra: Partial<EvidenceCheckpoint> = {},
      ): EvidenceCheckpoint => {
        const views = list.map(view);
        const status =
          views.length === 0
            ? 'not_reached'
            : views.every((v) => v.status === 'sealed')
              ? 'sealed'
              : 'pending';
        return { name, status, ...extra, records: views };
      };
      const isEnd = (r: DecisionRecord): boolean =>
        r.to !== null && r.to !== r.from && isTerminal(r.to as never);
      const checkpoints: EvidenceCheckpoint[] = [
        group(
          'requested',
          records.filter(
            (r) => r.rule === 'release.create' || r.kind === 'schedule' || r.kind === 'freeze',
          ),
        ),
        group(
          'verified',
          records.filter((r) => r.kind === 'verification' && !isEnd(r)),
        ),
      ];
      const approvals = group(
        'approvals',
        records.filter((r) => r.kind === 'approval' && !isEnd(r)),
      );
      const needsApproval = release.plan.stages.some((st) => (st.approvals ?? 0) > 0);
      checkpoints.push(
        approvals.records.length === 0 && !needsApproval
          ? { ...approvals, status: 'not_required' }
          : approvals,
      );
      release.plan.stages.forEach((stage, index) => {
        const mine = records.filter(
          (r) =>
            stageOfRecord(r) === index &&
            (r.kind === 'stage' ||
              r.kind === 'health' ||
              r.kind === 'completion' ||
              r.kind === STAGE_ATTESTED_KIND ||
              (r.kind === 'command' && r.rule !== 'release.create')) &&
            !isEnd(r),
        );
        const judged = records.filter(
          (r) => stageOfRecord(r) === index && Array.isArray(r.inputs['gates']),
        );
        const attestation = records.find(
          (r) => r.kind === STAGE_ATTESTED_KIND && r.stageIndex === index,
        );
        checkpoints.push(
          group(`stage ${index}`, mine, {
            stageIndex: index,
            stage: stage.name,
            gates: (judged.at(-1)?.inputs['gates'] as unknown[] | undefined) ?? [],
            attestation: attestation === undefined ? null : attestation.inputs,
          }),
        );
      });
      const ended = isTerminal(release.state);
      const ends = records.filter(isEnd);
      checkpoints.push(
        group('end', ends, { outcome: isTerminal(release.state) ? release.state : 'running' }),
      );
      const seals = records.filter((r) => r.kind === RELEASE_SEALED_KIND);
      const lastSeal = seals.at(-1);
      checkpoints.push(group('seal', lastSeal === undefined ? [] : [lastSeal]));
      const sealedNow =
        lastSeal !== undefined && lastSeal.seq <= size && records.at(-1)?.seq === lastSeal.seq;
      return {
        release: id,
        state: release.state,
        pack: release.pack,
        log: { origin, checkpointSize: size },
        sealed: sealedNow,
        seal:
          lastSeal === undefined
            ? null
            : {
                seq: lastSeal.seq,
                digest: lastSeal.digest,
                recordsDigest: String(lastSeal.inputs['recordsDigest']),
                count: Number(lastSeal.inputs['count']),
              },
        checkpoints,
        pending: checkpoints
          .filter(
            (c) =>
              c.status === 'pending' ||
              (c.status === 'not_reached' && !(ended && c.name !== 'seal')),
          )
          .map((c) => c.name),
      };
    },

    async bundle(id) {
      const records = await recordsOf(id);
      const seal = records.at(-1);
      if (seal === undefined || seal.kind !== RELEASE_SEALED_KIND) {
        throw new LockgateError(
          'RELEASE_NOT_SEALED',
          `Release ${id} has not ended, so no seal closes its evidence yet.`,
          { details: { id } },
        );
      }
      const checkpoint = await log.checkpointCovering(seal.seq);
      const bundleRecords: BundleInput['records'][number][] = [];
      for (const record of records) {
        const entry = await log.entry(record.seq);
        const proof = await log.inclusion(record.seq, checkpoint.size);
        bundleRecords.push({
          seq: record.seq,
          envelope: entry.envelope,
          proof: {
            seq: record.seq,
            leafIndex: record.seq - 1,
            treeSize: checkpoint.size,
            proof: proof.proof,
          },
        });
      }
      const release = (await stores.releases.find(id))?.release;
      const digests = [release?.pack, release?.basePack].filter(
        (d): d is string => typeof d === 'string',
      );
      const packs: { digest: string; manifest: PackManifest }[] = [];
      for (const digest of new Set(digests)) {
        const pack = await stores.packs.findByDigest(digest);
        if (pack !== null) packs.push({ digest, manifest: parseManifest(pack.manifestJson) });
      }
      const signers = new Set(packs.flatMap((p) => p.manifest.signatures.map((s) => s.keyId)));
      const buildKeys = (await stores.trust.list())
        .filter((k) => signers.has(k.keyId))
        .map((k) => ({ keyId: k.keyId, publicKeyPem: k.publicKeyPem }));
      // The contexts the records were decided on, for replay, and the lists of targets stage
      // attestations hold by digest: as stored (an edited row is carried as it is, so the
      // verifier shows it).
      const contexts = new Map<string, unknown>();
      for (const record of records) {
        const digest = record.inputs['context'] ?? attestedTargetsRef(record)?.digest;
        if (typeof digest !== 'string' || contexts.has(digest)) continue;
        const stored = await stores.contexts.get(digest);
        if (stored !== null) contexts.set(digest, stored.context);
      }
      const key = await log.key();
      const files = evidenceBundleFiles({
        release: id,
        checkpoint: checkpoint.note,
        records: bundleRecords,
        packs,
        buildKeys,
        logKey: { verifierKey: key.verifierKey, publicKeyPem: key.publicKeyPem },
        witnesses: await log.witnessKeys(),
        contexts,
      });
      return {
        bytes: await writeEvidenceBundle(files, [BUNDLE_CONTEXTS_DIR]),
        records: bundleRecords.length,
        treeSize: checkpoint.size,
      };
    },
  };
}
