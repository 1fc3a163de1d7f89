import { approvalStageOf, compareInWords, formatDuration, formatSelector } from '@lockgate/core';
import type { CompareEvidence, LabelSelector, StageGate } from '@lockgate/core';
import type { DecisionRecordView, PinView, ReleaseView, ReleaseWhyView } from '@lockgate/api';
import { packLabel } from './pack-names.ts';
import type { PackNames } from './pack-names.ts';

/** Human text for releases and their decision records; pure, so tests call it directly. */

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

const FAILED_RELATION: Readonly<Record<string, string>> = {
  '<=': '>',
  '<': '>=',
  '>=': '<',
  '>': '<=',
};

/** Both numbers with the same precision: whole numbers as they are, else three decimals. */
function formatPair(measured: number | null, threshold: number): [string, string] {
  const fixed = (n: number): string =>
    n !== 0 && Math.abs(n) < 0.001 ? n.toPrecision(3) : n.toFixed(3);
  const whole = Number.isInteger(threshold) && (measured === null || Number.isInteger(measured));
  const show = (n: number): string => (whole ? String(n) : fixed(n));
  return [measured === null ? 'n/a' : show(measured), show(threshold)];
}

/**
 * One health gate result as the measured value against the threshold, e.g.
 * `error_rate 0.200 > 0.050 (targets 10, samples 1000)`: a passing gate shows its own relation,
 * a failing one the relation that held instead, an inconclusive one says so.
 */
export function formatGateResult(gate: unknown): string {
  if (!isRecord(gate)) {
    return 'gate ?';
  }
  const policy =
    (gate['mode'] === 'shadow' ? 'shadow ' : '') + (gate['onFail'] === 'pause' ? '(pauses) ' : '');
  return policy + gateResultText(gate);
}

function gateResultText(gate: Record<string, unknown>): string {
  const compare = gate['compare'];
  if (isRecord(compare) && isRecord(compare['evidence'])) {
    const evidence = compare['evidence'] as unknown as CompareEvidence;
    const baseline = isRecord(compare['baseline']) ? compare['baseline'] : {};
    const members = numberOr(baseline['members'], 0);
    const reporting = numberOr(baseline['reporting'], 0);
    return `compare ${compareInWords(evidence)} (canary ${evidence.samples.canary.targets} target(s), baseline ${reporting}/${members} reporting)`;
  }
  const metric = typeof gate['metric'] === 'string' ? gate['metric'] : 'gate';
  const op = typeof gate['op'] === 'string' ? gate['op'] : '?';
  const threshold = numberOr(gate['threshold'], Number.NaN);
  const measured =
    typeof gate['measured'] === 'number' && Number.isFinite(gate['measured'])
      ? gate['measured']
      : null;
  const [shownMeasured, shownThreshold] = formatPair(measured, threshold);
  const counts = `(targets ${numberOr(gate['targets'], 0)}, samples ${numberOr(gate['samples'], 0)})`;
  switch (gate['verdict']) {
    case 'pass':
      return `${metric} ${shownMeasured} ${op} ${shownThreshold} ${counts}`;
    case 'fail':
      return `${metric} ${shownMeasured} ${FAILED_RELATION[op] ?? `not ${op}`} ${shownThreshold} ${counts}`;
    default:
      return `${metric} ${shownMeasured} inconclusive, needs ${op} ${shownThreshold} ${counts}`;
  }
}

function stageText(stage: unknown): string | null {
  if (!isRecord(stage)) {
    return null;
  }
  const index = numberOr(stage['index'], Number.NaN);
  const name = typeof stage['name'] === 'string' ? ` ${stage['name']}` : '';
  const percent = typeof stage['percent'] === 'number' ? ` ${stage['percent']}%` : '';
  const cohort = typeof stage['cohort'] === 'string' ? ` of cohort ${stage['cohort']}` : '';
  return `stage ${Number.isNaN(index) ? '?' : index + 1}${name}${percent}${cohort}`;
}

/** A plan's gate, e.g. `error_rate <= 0.05 over 5m (targets ≥ 1, samples ≥ 100)`. */
export function formatGateSpec(gate: StageGate): string {
  const policy =
    (gate.mode === 'shadow' ? ' [shadow]' : '') + (gate.onFail === 'pause' ? ' [pauses]' : '');
  if ('provider' in gate) {
    return `prometheus ${gate.query} ${gate.op} ${gate.threshold} over ${formatDuration(gate.windowSeconds)}${policy}`;
  }
  if ('kind' in gate) {
    const margin =
      'relative' in gate.margin
        ? `${Number((100 * gate.margin.relative).toPrecision(3))}% worse`
        : `${gate.margin.absolute} worse`;
    return `compare ${gate.metric} against the baseline over ${formatDuration(gate.windowSeconds)} looks (α ${gate.alpha}, margin ${margin}, samples ≥ ${gate.minSamples} each side)${policy}`;
  }
  return `${gate.metric} ${gate.op} ${gate.threshold} over ${formatDuration(gate.windowSeconds)} (targets ≥ ${gate.minTargets}, samples ≥ ${gate.minSamples})${policy}`;
}

/** What a decision record's inputs say, in a few words (gates, reasons, stages, freezes). */
export function decisionDetail(inputs: Record<string, unknown>): string {
  const parts: string[] = [];
  const stage = stageText(inputs['stage']);
  const next = stageText(inputs['next']);
  if (stage !== null) {
    parts.push(next === null ? stage : `${stage} → ${next}`);
  }
  const needed = numberOr(inputs['approvalsNeeded'], 0);
  if (Array.isArray(inputs['approvers']) && needed > 0) {
    const approvers = inputs['approvers'].filter((a): a is string => typeof a === 'string');
    parts.push(
      `approvals ${approvers.length}/${needed}${approvers.length > 0 ? ` (${approvers.join(', ')})` : ''}`,
    );
  }
  if (Array.isArray(inputs['gates']) && inputs['gates'].length > 0) {
    parts.push(inputs['gates'].map(formatGateResult).join('; '));
  }
  if (Array.isArray(inputs['reasons'])) {
    for (const reason of inputs['reasons']) {
      if (isRecord(reason) && typeof reason['message'] === 'string') {
        parts.push(
          typeof reason['code'] === 'string'
            ? `${reason['code']}: ${reason['message']}`
            : reason['message'],
        );
      }
    }
  }
  const freeze = inputs['freeze'];
  if (isRecord(freeze) && typeof freeze['id'] === 'string') {
    const until = typeof freeze['until'] === 'string' ? ` until ${freeze['until']}` : '';
    const why = typeof freeze['reason'] === 'string' ? ` (${freeze['reason']})` : '';
    parts.push(`freeze ${freeze['id']}${until}${why}`);
  }
  if (Array.isArray(inputs['refusals'])) {
    const refusals = inputs['refusals'].filter(isRecord).map((r) => {
      const targets = numberOr(r['targets'], 0);
      return `${String(r['kind'])} refused ${String(r['code'])} on ${targets} target${targets === 1 ? '' : 's'}`;
    });
    if (refusals.length > 0) parts.push(refusals.join(', '));
  }
  const rollback = inputs['rollback'];
  if (isRecord(rollback) && typeof rollback['blocked'] === 'string') {
    parts.push(`rollback blocked: ${rollback['blocked']}`);
  } else if (isRecord(rollback) && Object.hasOwn(rollback, 'to')) {
    parts.push(
      typeof rollback['to'] === 'string'
        ? `rollback to ${rollback['to']}`
        : 'no pin or LKG to roll back to: rollout cleared, back to the base',
    );
  }
  return parts.join('; ');
}

/**
 * One line per decision record: time, kind, rule, from→to, actor, reason, then what the inputs
 * say (for health decisions the measured value against the threshold).
 */
export function formatDecisionRecord(record: DecisionRecordView): string {
  const verdict = record.verdict !== record.to ? ` (${record.verdict})` : '';
  const reason = record.reason === null || record.reason === '' ? '' : `  "${record.reason}"`;
  const detail = isRecord(record.inputs) ? decisionDetail(record.inputs) : '';
  return `${record.at}  ${record.kind}  ${record.rule}  ${record.from ?? '(new)'}→${record.to}${verdict}  by ${record.actor}${reason}${detail === '' ? '' : `  ${detail}`}`;
}

export interface ReleaseProgress {
  stage: {
    /** 1-based */
    number: number;
    of: number;
    name: string;
    percent: number;
    cohort: string | null;
    startedAt: string | null;
  };
  /** whole seconds of the current stage's soak still to run; null when no soak is running */
  soakRemainingSeconds: number | null;
  /** the stage an approval counts for now, when it needs any */
  approvals: {
    /** 1-based */
    stage: number;
    name: string;
    needed: number;
    approvers: string[];
    /** true when the release cannot go on until they are in */
    waiting: boolean;
  } | null;
}

/** Where a release stands at `now`: its stage, the soak left, the approvals it waits for. */
export function releaseProgress(release: ReleaseView, now: Date): ReleaseProgress {
  const stages = release.plan.stages;
  const current = stages[release.stageIndex];
  const startedAt = release.currentStage?.startedAt ?? release.stageStartedAt;
  const soakSeconds = release.currentStage?.soakSeconds ?? current?.soakSeconds ?? 0;
  let soakRemainingSeconds: number | null = null;
  if (release.state === 'rolling' && startedAt !== null) {
    const endsMs = Date.parse(startedAt) + soakSeconds * 1000;
    soakRemainingSeconds = Math.max(0, Math.ceil((endsMs - now.getTime()) / 1000));
  }
  let approvals: ReleaseProgress['approvals'] = null;
  const approvalStage = approvalStageOf(release);
  const needed = approvalStage === null ? 0 : (stages[approvalStage]?.approvals ?? 0);
  if (approvalStage !== null && needed > 0) {
    const approvers = [
      ...new Set(release.approvals.filter((a) => a.stage === approvalStage).map((a) => a.actor)),
    ].sort();
    approvals = {
      stage: approvalStage + 1,
      name: stages[approvalStage]?.name ?? '?',
      needed,
      approvers,
      waiting:
        approvers.length < needed && approvalStage === release.stageIndex && startedAt === null,
    };
  }
  return {
    stage: {
      number: release.stageIndex + 1,
      of: stages.length,
      name: release.currentStage?.name ?? current?.name ?? '?',
      percent: release.currentStage?.percent ?? current?.percent ?? 0,
      cohort: release.currentStage?.cohort ?? current?.cohort ?? null,
      startedAt,
    },
    soakRemainingSeconds,
    approvals,
  };
}

/**
 * Under a prometheus gate: its query, the answer judged (status, values, time) and the reasons,
 * which say where a recorded answer comes from. Nothing for other gates.
 */
export function formatPrometheusAnswer(gate: ReleaseWhyView['gates'][number]): string[] {
  if (gate.provider !== 'prometheus' || gate.query === undefined) return [];
  const lines = [`      query  ${gate.query}`];
  const { answer } = gate;
  if (answer !== undefined) {
    const values =
      answer.series.length === 0
        ? 'no series'
        : answer.series
            .map((s) => {
              const labels = Object.entries(s.labels)
                .map(([k, v]) => `${k}="${v}"`)
                .join(',');
              return labels === '' ? s.value : `{${labels}} ${s.value}`;
            })
            .join(', ');
    lines.push(`      answer ${answer.status} at ${answer.at}: ${values}`);
  }
  for (const reason of gate.reasons) lines.push(`      ${reason}`);
  return lines;
}

/**
 * The `why` section of a release status: what holds it, the stage's reach, each gate against
 * its threshold, agent refusals and the freeze in effect. Empty for a release that ended.
 */
export function formatReleaseWhy(why: ReleaseWhyView | null | undefined): string[] {
  if (why === null || why === undefined) return [];
  const lines: string[] = [];
  if (why.stage !== null) {
    lines.push(
      `targets   ${why.stage.targets} in stage ${why.stage.index + 1} ${why.stage.name}, ${why.stage.onPack} running the pack, ${why.stage.channelTargets} in the channel`,
    );
  }
  if (why.gates.length > 0) {
    lines.push('gates:');
    for (const gate of why.gates) {
      lines.push(`  ${gate.verdict.padEnd(12)} ${formatGateResult(gate)}`);
      lines.push(...formatPrometheusAnswer(gate));
    }
  }
  if (why.refusals.targets > 0) {
    lines.push(`refused   by ${why.refusals.targets} target(s):`);
    for (const group of why.refusals.groups) {
      const more = group.targets > group.sample.length ? ', …' : '';
      lines.push(
        `  ${group.kind} ${group.code} ×${group.targets} (${group.sample.join(', ')}${more})`,
      );
    }
  }
  if (why.freeze !== null) {
    lines.push(`freeze    ${why.freeze.id} until ${why.freeze.until}: ${why.freeze.reason}`);
  }
  lines.push(
    why.blockers.length === 0
      ? 'waiting   nothing: the controller moves it next'
      : 'waiting   for:',
  );
  for (const blocker of why.blockers) lines.push(`  - ${blocker.message}`);
  return lines;
}

/**
 * The human status of a release (`lockgate release status`); with `why` (from the server) it
 * says what holds the release, and with `names` it shows name@version beside digests.
 */
export function formatReleaseStatus(
  release: ReleaseView,
  progress: ReleaseProgress,
  extras: { why?: ReleaseWhyView | null; names?: PackNames } = {},
): string {
  const names = extras.names ?? new Map<string, string>();
  const { stage } = progress;
  const scope = stage.cohort === null ? 'of the channel' : `of cohort ${stage.cohort}`;
  const lines = [
    `release ${release.id}  ${release.state}`,
    `pack      ${release.pack} (${names.has(release.pack) ? `${names.get(release.pack)}, ` : ''}sequence ${release.packSequence})`,
    ...(release.basePack === null || names.size === 0
      ? []
      : [`base      ${packLabel(names, release.basePack)}`]),
    `channel   ${release.env}/${release.channel}  plan ${release.plan.name}`,
  ];
  if (release.state === 'requested' || release.state === 'verifying') {
    const firstStage = release.plan.stages[0];
    lines.push(
      `stages    ${stage.of}, the first ${firstStage?.name ?? '?'}: ${firstStage?.percent ?? '?'}% once verified`,
    );
  } else if (release.state !== 'failed') {
    lines.push(
      `stage     ${stage.number}/${stage.of} ${stage.name}: ${stage.percent}% ${scope}${
        stage.startedAt === null ? ', not started' : `, started ${stage.startedAt}`
      }`,
    );
  }
  if (progress.soakRemainingSeconds !== null) {
    lines.push(
      progress.soakRemainingSeconds > 0
        ? `soak      ${formatDuration(progress.soakRemainingSeconds)} remaining`
        : 'soak      done; the stage advances when its gates pass',
    );
  }
  if (progress.approvals !== null) {
    const { approvals } = progress;
    const who = approvals.approvers.length === 0 ? 'none yet' : approvals.approvers.join(', ');
    lines.push(
      `approvals stage ${approvals.stage} ${approvals.name}: ${approvals.approvers.length}/${approvals.needed} (${who})${
        approvals.waiting ? ', waiting for approval' : ''
      }`,
    );
  }
  if (release.pausedReason !== undefined) {
    lines.push(`paused    ${release.pausedReason}`);
  }
  if (release.schedule?.notBefore !== undefined) {
    lines.push(`not before ${release.schedule.notBefore}`);
  }
  lines.push(`requested by ${release.requestedBy} at ${release.createdAt}: ${release.reason}`);
  if (release.outcome !== undefined) {
    const { outcome } = release;
    lines.push(`outcome   ${outcome.summary} (${outcome.at})`);
    for (const reason of outcome.reasons) {
      lines.push(`  ${reason.code === undefined ? '' : `${reason.code}: `}${reason.message}`);
    }
    if (outcome.rollbackTo !== undefined) {
      lines.push(
        `  rolled back to ${outcome.rollbackTo === null ? 'the base (the rollout was cleared)' : packLabel(names, outcome.rollbackTo)}`,
      );
    }
  }
  lines.push(...formatReleaseWhy(extras.why));
  return lines.join('\n');
}

/** `stage k/n (p%)` for list lines. */
export function stageSummary(release: ReleaseView): string {
  const stage = release.plan.stages[release.stageIndex];
  return `stage ${release.stageIndex + 1}/${release.plan.stages.length}${
    stage === undefined ? '' : ` ${stage.percent}%`
  }`;
}

/** The scope of a pin: the whole channel (`_`) or a cohort, with its selector when known. */
export function pinScope(pin: Pick<PinView, 'cohort' | 'selector'>): string {
  if (pin.cohort === '_') {
    return 'whole channel';
  }
  return pin.selector === undefined || pin.selector === null
    ? `cohort ${pin.cohort}`
    : `cohort ${pin.cohort} (${selectorText(pin.selector)})`;
}

export function selectorText(selector: LabelSelector | undefined): string {
  if (selector === undefined) {
    return '';
  }
  const text = formatSelector(selector);
  return text === '' ? '(every target)' : text;
}
