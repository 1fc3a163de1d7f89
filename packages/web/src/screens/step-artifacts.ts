import type { DecisionRecordView, ReleaseView } from '@lockgate/api';

/**
 * What a release step set in its channel's index, from the decision records alone: the rollout
 * (pack and percent) or the base the state it entered implies. The console shows it before and
 * after a step and the fields that changed; the signed index itself is versioned by the server.
 */
export interface IndexFields {
  base: string | null;
  rolloutPack: string | null;
  rolloutPercent: number | null;
}

const ACTIVE = new Set(['rolling', 'paused']);

/** The index fields the release holds after `record` (null: the record changed nothing there). */
export function indexAfter(
  release: ReleaseView,
  record: DecisionRecordView,
  before: IndexFields,
): IndexFields {
  const to = record.to;
  if (to === null) return before;
  if (ACTIVE.has(to) && record.stageIndex !== null) {
    const stage = release.plan.stages[record.stageIndex];
    // A stage waiting for approvals (or a freeze) has not moved the rollout yet.
    if (stage === undefined || record.verdict === 'awaiting_approval') return before;
    return { ...before, rolloutPack: release.pack, rolloutPercent: stage.percent };
  }
  if (to === 'completed') return { base: release.pack, rolloutPack: null, rolloutPercent: null };
  if (to === 'rolled_back') {
    const back = release.outcome?.rollbackTo;
    return {
      base: back === undefined || back === null ? before.base : back,
      rolloutPack: null,
      rolloutPercent: null,
    };
  }
  if (to === 'aborted' || to === 'failed')
    return { ...before, rolloutPack: null, rolloutPercent: null };
  return before;
}

/** The index fields before and after the record `seq`, replaying the release's records in order. */
export function indexAround(
  release: ReleaseView,
  records: readonly DecisionRecordView[],
  seq: number,
): { before: IndexFields; after: IndexFields } {
  let fields: IndexFields = { base: release.basePack, rolloutPack: null, rolloutPercent: null };
  for (const record of records) {
    const next = indexAfter(release, record, fields);
    if (record.seq === seq) return { before: fields, after: next };
    fields = next;
  }
  return { before: fields, after: fields };
}

/** The fields that differ, as [name, before, after]. */
export function indexDiff(before: IndexFields, after: IndexFields): [string, string, string][] {
  const rows: [string, string, string][] = [];
  for (const key of ['base', 'rolloutPack', 'rolloutPercent'] as const) {
    if (before[key] !== after[key])
      rows.push([key, String(before[key] ?? '—'), String(after[key] ?? '—')]);
  }
  return rows;
}
