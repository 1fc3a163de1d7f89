/**
 * The records that close a release's evidence, appended through the decision log in the
 * caller's transaction (the one that committed the release change):
 *
 * - when a stage ends (the release leaves it for the next stage or ends while in it), a
 *   `stage.attested` record: the targets' reports during the stage (core stageAttestation), the
 *   list of targets held by digest (core attestationHead) and kept beside it, content-addressed,
 *   in the same transaction;
 * - when the release ends, a `release.sealed` record naming every earlier record of the release
 *   by seq and digest (core sealInputs), so a bundle proves it is complete.
 *
 * Invariants: called once per committed change with the release before and after it; appends
 * nothing when no stage ended and the release did not end; the seal is the release's last
 * record (nothing appends to an ended release, and `retry` reopens only `failed`, which then
 * gets a new seal when it ends again, naming the first one among its records).
 */
import {
  attestationHead,
  isTerminal,
  parseDigest,
  RELEASE_SEALED_KIND,
  sealInputs,
  STAGE_ATTESTED_KIND,
  stageAttestation,
} from '@lockgate/core';
import type { ReleaseState } from '@lockgate/core';
import type { StoresOf } from '../../stores.ts';
import { recordDecisions } from '../decisions/public.ts';
import { encodeListInSlices } from '../replays/public.ts';
import type { EncodedContext } from '../replays/public.ts';
import type { DecisionRecordDraft } from '../decisions/public.ts';
import type { DecisionRecord } from '../decisions/public.ts';

/** The stores this module uses, and no others. */
type UsedStores = StoresOf<
  'contexts' | 'decisions' | 'log' | 'serverKeys' | 'targets' | 'webhooks' | 'statements'
>;

const PAGE = 1000;

/** The kinds this file appends: part of a release's evidence, not of its state timeline. */
export function isEvidenceRecordKind(kind: string): boolean {
  return kind === STAGE_ATTESTED_KIND || kind === RELEASE_SEALED_KIND;
}

/** Appends the stage attestation and the seal the change calls for; returns them. */
export async function recordReleaseEvidence(
  tx: UsedStores,
  before: ReleaseState,
  after: ReleaseState,
  now: Date,
  /** the controller that committed the change, null for an operator command */
  holder: string | null = null,
): Promise<DecisionRecord[]> {
  const at = now.toISOString();
  const drafts: DecisionRecordDraft[] = [];
  const lists: EncodedContext[] = [];
  const base = {
    release: after.id,
    env: after.env,
    channel: after.channel,
    at,
    actor: 'controller',
    reason: null,
    holder,
  };
  const wasInStage =
    (before.state === 'rolling' || before.state === 'paused') && before.stageStartedAt !== null;
  const stageEnded =
    wasInStage && (isTerminal(after.state) || after.stageIndex !== before.stageIndex);
  if (stageEnded && before.stageStartedAt !== null) {
    const stage = before.plan.stages[before.stageIndex];
    const reports = await tx.targets.listReports(
      before.env,
      before.channel,
      before.stageStartedAt,
      at,
    );
    const inputs = stageAttestation({
      release: before.id,
      pack: before.pack,
      stageIndex: before.stageIndex,
      stage: stage?.name ?? String(before.stageIndex),
      from: before.stageStartedAt,
      to: at,
      reports,
    });
    // encoded a slice at a time (the list of a large stage is tens of MB of JCS text)
    const targets = await encodeListInSlices(inputs.targets);
    drafts.push({
      ...base,
      kind: STAGE_ATTESTED_KIND,
      rule: 'evidence.stage_attested',
      from: null,
      to: null,
      stageIndex: before.stageIndex,
      inputs: { ...attestationHead(inputs, parseDigest(targets.digest)) },
      verdict: `${inputs.summary.onPack}/${inputs.summary.reporting} on pack`,
    });
    lists.push(targets);
  }
  const records = await recordDecisions(tx, drafts, { lists });
  if (!isTerminal(after.state) || isTerminal(before.state)) return records;

  const refs: { seq: number; digest: string }[] = [];
  for (let afterSeq = 0; ;) {
    const page = await tx.decisions.list({ release: after.id, afterSeq, limit: PAGE });
    refs.push(...page.map((r) => ({ seq: r.seq, digest: r.digest })));
    const last = page.at(-1);
    if (last === undefined || page.length < PAGE) break;
    afterSeq = last.seq;
  }
  const [seal] = await recordDecisions(tx, [
    {
      ...base,
      kind: RELEASE_SEALED_KIND,
      rule: 'evidence.sealed',
      from: null,
      to: null,
      stageIndex: after.stageIndex,
      inputs: {
        ...sealInputs({ release: after.id, pack: after.pack, outcome: after.state, records: refs }),
      },
      verdict: 'sealed',
    },
  ]);
  return seal === undefined ? records : [...records, seal];
}
