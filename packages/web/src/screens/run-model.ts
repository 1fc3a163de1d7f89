import { TERMINAL_STATES } from '../api/vocabulary.ts';
import type { CommandKind, DecisionRecordView, ReleaseView, ReleaseWhyView } from '@lockgate/api';
import { duration } from '../ui/format.ts';

/**
 * The release run as checkpoints, in words: pure functions of the release, its decision records
 * and `why`, so the screen and its tests read the same story.
 */

export type Mark = 'done' | 'running' | 'pending' | 'failed';

export const MARK_SYMBOL: Record<Mark, string> = {
  done: '✓',
  running: '▶',
  pending: '○',
  failed: '✗',
};

export interface Checkpoint {
  key: string;
  title: string;
  mark: Mark;
  at: string | null;
  summary: string;
  /** the decision record that explains it (Step Detail), when there is one */
  record: DecisionRecordView | null;
  /** the plan stage it is, for the Deploy Stage link */
  stage: number | null;
}

/** `canary 10% → 50% → 100%` */
export function planWords(release: ReleaseView): string {
  return `${release.plan.name} ${release.plan.stages.map((s) => `${s.percent}%`).join(' → ')}`;
}

const ended = (release: ReleaseView): boolean => TERMINAL_STATES.includes(release.state);

export function checkpointsOf(
  release: ReleaseView,
  records: readonly DecisionRecordView[],
  why: ReleaseWhyView | null,
): Checkpoint[] {
  const find = (test: (r: DecisionRecordView) => boolean): DecisionRecordView | null =>
    records.find(test) ?? null;
  const last = (test: (r: DecisionRecordView) => boolean): DecisionRecordView | null =>
    [...records].reverse().find(test) ?? null;
  const created = records[0] ?? null;
  const verified = find((r) => r.rule.startsWith('verification.'));
  const verifyFailed = verified !== null && verified.rule.startsWith('verification.failed');
  const checkpoints: Checkpoint[] = [
    {
      key: 'requested',
      title: 'Requested',
      mark: 'done',
      at: created?.at ?? release.createdAt,
      summary: `by ${release.requestedBy}: ${release.reason}`,
      record: created,
      stage: null,
    },
    {
      key: 'verified',
      title: 'Verified',
      mark:
        verified === null
          ? release.state === 'verifying'
            ? 'running'
            : 'pending'
          : verifyFailed
            ? 'failed'
            : 'done',
      at: verified?.at ?? null,
      summary:
        verified === null
          ? 'integrity, signatures, compatibility and policy not checked yet'
          : verifyFailed
            ? `refused: ${verified.reason ?? verified.verdict}`
            : 'pack verified: integrity, signatures, compatibility, policy',
      record: verified,
      stage: null,
    },
  ];
  const failedStage =
    release.state === 'rolled_back' || release.state === 'aborted' ? release.stageIndex : -1;
  release.plan.stages.forEach((stage, index) => {
    if ((stage.approvals ?? 0) > 0) {
      const approvals = release.approvals.filter((a) => a.stage === index);
      const met = find((r) => r.rule === 'approvals.met' && r.stageIndex === index);
      checkpoints.push({
        key: `approval-${index}`,
        title: `Approval for ${stage.name}`,
        mark:
          met !== null
            ? 'done'
            : index === release.stageIndex && !ended(release)
              ? 'running'
              : 'pending',
        at: met?.at ?? null,
        summary: `${approvals.length} of ${stage.approvals ?? 0} approvals${approvals.length > 0 ? ` (${approvals.map((a) => a.actor).join(', ')})` : ''}`,
        record: met,
        stage: index,
      });
    }
    const entered = find(
      (r) => r.stageIndex === index && r.to !== null && r.kind !== 'verification',
    );
    const current = index === release.stageIndex;
    let mark: Mark = 'pending';
    if (
      index < release.stageIndex ||
      (release.state === 'completed' && index <= release.stageIndex)
    )
      mark = 'done';
    else if (current && failedStage === index) mark = 'failed';
    else if (current && (release.state === 'rolling' || release.state === 'paused'))
      mark = 'running';
    const gates = current && why !== null ? why.gates : [];
    const summary =
      mark === 'done'
        ? `${stage.percent}% reached and soaked`
        : mark === 'failed'
          ? (release.outcome?.summary ?? `${release.state.replace('_', ' ')} at this stage`)
          : mark === 'running'
            ? `${release.state === 'paused' ? 'PAUSED' : 'RUNNING'} (${why?.stage?.onPack ?? 0}/${why?.stage?.targets ?? 0} targets on the pack${gates.length > 0 ? `; gates: ${gates.map((g) => `${g.metric} ${g.verdict}`).join(', ')}` : ''})`
            : 'pending';
    checkpoints.push({
      key: `stage-${index}`,
      title: `Deploy ${stage.name} ${stage.percent}%`,
      mark,
      at: entered?.at ?? null,
      summary,
      record: current ? last((r) => r.stageIndex === index) : entered,
      stage: index,
    });
  });
  const completed = release.state === 'completed' ? last((r) => r.to === 'completed') : null;
  checkpoints.push({
    key: 'post-deploy',
    title: 'Post-deploy',
    mark: completed !== null ? 'done' : ended(release) ? 'failed' : 'pending',
    at: completed?.at ?? release.outcome?.at ?? null,
    summary:
      completed !== null
        ? 'completed; the pack is the channel base and its LKG after the soak'
        : ended(release)
          ? `${release.state.replace('_', ' ')}: ${release.outcome?.summary ?? ''}`
          : 'pending',
    record: completed ?? (ended(release) ? (records.at(-1) ?? null) : null),
    stage: null,
  });
  checkpoints.push({
    key: 'seal',
    title: 'Seal evidence',
    mark: 'pending',
    at: null,
    summary: 'pending: sealing comes with the evidence log (signed checkpoints)',
    record: null,
    stage: null,
  });
  return checkpoints;
}

/** The current status and the next step in words. */
export function nextStep(release: ReleaseView, why: ReleaseWhyView | null, now: number): string {
  switch (release.state) {
    case 'completed':
      return 'Completed: every target of the channel runs the pack.';
    case 'rolled_back':
      return `Rolled back: ${release.outcome?.summary ?? 'the channel returned to its previous pack'}.`;
    case 'aborted':
      return `Aborted: ${release.outcome?.summary ?? ''}`;
    case 'failed':
      return `Failed: ${release.outcome?.summary ?? 'verification refused the pack'}; retry runs verification again.`;
    case 'requested':
      return 'Requested: the controller verifies the pack next.';
    case 'verifying':
      return 'Verifying the pack.';
    case 'paused':
      return `Paused${release.pausedReason === undefined ? '' : `: ${release.pausedReason}`}; resume to continue.`;
    case 'rolling':
      break;
  }
  if (why === null) return 'Rolling.';
  if (why.freeze !== null)
    return `Held by a freeze window until ${why.freeze.until}: ${why.freeze.reason}.`;
  if (why.approvals?.waiting === true) {
    const more = why.approvals.needed - why.approvals.approvers.length;
    return `Waiting for ${more} more approval${more === 1 ? '' : 's'} for ${why.approvals.name}.`;
  }
  const stage = why.stage;
  if (stage !== null) {
    const inconclusive = why.gates.find((g) => g.verdict === 'inconclusive');
    if (inconclusive !== undefined) {
      return `Gates inconclusive: ${inconclusive.targets} of ${stage.targets} targets reporting (${inconclusive.reasons.join('; ')}).`;
    }
    if (stage.startedAt !== null) {
      const left = stage.soakSeconds - (now - Date.parse(stage.startedAt)) / 1000;
      if (left > 0) return `Soak ${duration(left)} left at ${stage.name} ${stage.percent}%.`;
    }
    if (stage.onPack < stage.targets) {
      return `Waiting for ${stage.targets - stage.onPack} of ${stage.targets} targets to run the pack.`;
    }
  }
  const blocker = why.blockers[0];
  return blocker === undefined
    ? 'Gates pass: promoting at the next controller tick.'
    : blocker.message;
}

/** The commands that make sense now (the server decides; this only avoids dead buttons). */
export function commandsFor(release: ReleaseView, why: ReleaseWhyView | null): CommandKind[] {
  switch (release.state) {
    case 'rolling':
      return [
        'pause',
        'promote',
        ...(why?.approvals?.waiting === true ? (['approve', 'reject'] as const) : []),
        'abort',
        'rollback',
      ];
    case 'paused':
      return ['resume', 'promote', 'abort', 'rollback'];
    case 'requested':
    case 'verifying':
      return ['abort'];
    case 'failed':
      return ['retry'];
    // An ended release is returned to the LKG or an earlier pack by a pin: the Rollback screen.
    case 'completed':
    case 'rolled_back':
    case 'aborted':
      return [];
  }
}
