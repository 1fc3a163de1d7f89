/**
 * Why a release is (not) moving, for `GET /releases/{id}` and `lockgate release status`.
 *
 * Computed from the same context the controller's `decide` reads (loadReleaseContext), with the
 * same core functions: verifyReleaseCandidate, activeFreeze, scheduleAllows, approvalStageOf and
 * evaluateStageGates (the stage's gates exactly as decide judges them). It changes
 * nothing and records nothing. `blockers` are short sentences, most important first, of what
 * holds the release now; empty when the controller moves it on its next tick. Agent refusals are
 * the channel's targets whose last attempt for the release's pack (since the release was created)
 * failed, grouped by attempt kind and code.
 *
 * Cost: the context comes through the controller's kept inputs when given (what changed since
 * the last tick is read), and the channel's targets are counted by the database (target store
 * `packSummary`), so a status of a 100,000-target release reads no target row but the failed ones.
 *
 * A prometheus gate is not asked here (a status makes no network call): it shows the answer the
 * controller last recorded for the same rendered query in the current stage — the gate results
 * in the inputs of the release's latest decision record that has them (a stage paused because its
 * gates stayed inconclusive records them) — with where it was recorded. Without such a record it
 * says Prometheus was not asked yet.
 */
import {
  activeFreeze,
  approvalStageOf,
  compareInWords,
  evaluateStageGates,
  formatDuration,
  isPrometheusGate,
  isTerminal,
  progressDeadlineOf,
  scheduleAllows,
  verifyReleaseCandidate,
} from '@lockgate/core';
import type { HealthGateResult, Reason, ReleaseContext, TargetAttempt } from '@lockgate/core';
import type { BlobStore } from '../../blob-store.ts';
import type { StoresOf } from '../../stores.ts';
import { loadReleaseContext } from './release-context.ts';
import { withInputsHeld } from './release-inputs.ts';
import type { ReleaseInputs } from './release-inputs.ts';
import type { StoredRelease } from './release-store.ts';

/** The stores this module uses, and no others. */
type UsedStores = StoresOf<
  | 'builds'
  | 'channels'
  | 'decisions'
  | 'environments'
  | 'packs'
  | 'revocations'
  | 'targets'
  | 'trust'
  | 'statements'
>;

export type BlockerKind =
  | 'schedule'
  | 'freeze'
  | 'verification'
  | 'paused'
  | 'approval'
  | 'no_targets'
  | 'gates'
  | 'refusals'
  | 'soak';

export interface Blocker {
  kind: BlockerKind;
  message: string;
}

export interface RefusalGroup {
  kind: TargetAttempt['kind'];
  /** the agent's code; '(none)' when the attempt carried none */
  code: string;
  targets: number;
  /** up to MAX_SAMPLE_TARGETS target ids, sorted */
  sample: string[];
}

export interface ReleaseWhy {
  at: string;
  blockers: Blocker[];
  /** the freeze window in effect now (it blocks starting and advancing, never a rollback) */
  freeze: { id: string; reason: string; from: string; until: string } | null;
  /** the current stage and how many targets it reaches; null before the rollout */
  stage: {
    index: number;
    name: string;
    percent: number;
    cohort: string | null;
    startedAt: string | null;
    /** targets of the channel told to run the release's pack now */
    targets: number;
    /** targets of the channel that report the release's pack as active */
    onPack: number;
    /** targets registered in the channel */
    channelTargets: number;
    soakSeconds: number;
    progressDeadlineSeconds: number;
  } | null;
  /**
   * the current stage's gates, evaluated now, enforcing and shadow ones side by side (`mode`),
   * each with its verdict in words; compare gates without their replay look (it lives in the
   * decision records); empty before the stage starts
   */
  gates: (HealthGateResult & { words: string })[];
  refusals: { targets: number; groups: RefusalGroup[] };
  /** the stage that takes approvals now, when it needs any */
  approvals: {
    stage: number;
    name: string;
    needed: number;
    approvers: string[];
    waiting: boolean;
  } | null;
  /** verification as the controller would run it now; null when it does not apply */
  verification: { ok: boolean; reasons: Reason[] } | null;
}

/** The gate results one decision record holds in its inputs (`inputs.gates`). */
export interface RecordedGates {
  seq: number;
  at: string;
  /** the stage they were judged in (`inputs.stage.index`) */
  stageIndex: number;
  gates: HealthGateResult[];
}

/** The channel's targets as a status counts them (target store `packSummary`). */
export interface FleetSummary {
  targets: number;
  /** of them, those running the release's pack */
  onPack: number;
  /** those whose last attempt was a failure with the release's pack */
  failedAttempts: readonly { id: string; lastAttempt: TargetAttempt }[];
}

const MAX_SAMPLE_TARGETS = 5;
/** How many of a release's newest decision records are searched for recorded gate results. */
export const MAX_RECORDS_FOR_GATES = 20;

/** The pure part: what holds the release at `now`, from the controller's context. */
export function explainRelease(
  input: {
    context: ReleaseContext;
    fleet: FleetSummary;
    createdAt: string;
    /** the latest recorded gate results of the release, newest first (see the file header) */
    recorded?: readonly RecordedGates[];
  },
  now: Date,
): ReleaseWhy {
  const { context, fleet, createdAt } = input;
  const { release } = context;
  const at = now.toISOString();
  const blockers: Blocker[] = [];
  const active = activeFreeze(context.freezeWindows, at);
  const freeze =
    active === null
      ? null
      : {
          id: active.freeze.id,
          reason: active.freeze.reason,
          from: active.from,
          until: active.until,
        };
  const freezeText =
    freeze === null ? '' : `freeze window ${freeze.id} until ${freeze.until} (${freeze.reason})`;
  const rolling = release.state === 'rolling' || release.state === 'paused';
  const verification =
    release.state === 'verifying' || rolling
      ? verifyReleaseCandidate({ ...context, release }, at)
      : null;
  if (verification !== null && !verification.ok) {
    blockers.push({
      kind: 'verification',
      message: `the pack does not verify: ${verification.reasons.map((r) => (r.code === undefined ? r.message : `${r.code}: ${r.message}`)).join('; ')}`,
    });
  }

  if (release.state === 'requested') {
    if (!scheduleAllows(release.schedule, at)) {
      const notBefore = release.schedule?.notBefore;
      blockers.push({
        kind: 'schedule',
        message:
          notBefore === undefined
            ? 'waits for its schedule window'
            : `waits for its schedule (not before ${notBefore})`,
      });
    } else if (freeze !== null) {
      blockers.push({ kind: 'freeze', message: `${freezeText} blocks the start` });
    }
  }

  const approvals = approvalsOf(context);
  const refusals = refusalsOf(fleet.failedAttempts, createdAt);
  let stage: ReleaseWhy['stage'] = null;
  let gates: ReleaseWhy['gates'] = [];

  if (rolling) {
    const spec = release.plan.stages[release.stageIndex];
    const inStage = new Set(context.stageTargets);
    stage =
      spec === undefined
        ? null
        : {
            index: release.stageIndex,
            name: spec.name,
            percent: spec.percent,
            cohort: spec.cohort ?? null,
            startedAt: release.stageStartedAt,
            targets: inStage.size,
            onPack: fleet.onPack,
            channelTargets: fleet.targets,
            soakSeconds: spec.soakSeconds,
            progressDeadlineSeconds: progressDeadlineOf(spec),
          };
    if (release.state === 'paused') {
      blockers.push({
        kind: 'paused',
        message: `paused: ${release.pausedReason ?? 'by an operator'} (resume it to go on)`,
      });
    }
    if (spec !== undefined && release.stageStartedAt === null) {
      if (approvals?.waiting === true) {
        blockers.push({
          kind: 'approval',
          message: `stage ${release.stageIndex + 1} ${spec.name} waits for approvals: ${approvals.approvers.length}/${approvals.needed}${approvals.approvers.length === 0 ? '' : ` (${approvals.approvers.join(', ')})`}`,
        });
      } else if (freeze !== null) {
        blockers.push({
          kind: 'freeze',
          message: `${freezeText} blocks stage ${release.stageIndex + 1}`,
        });
      }
    }
    if (spec !== undefined && release.stageStartedAt !== null) {
      gates = withRecordedAnswers(
        evaluateStageGates(context, now),
        input.recorded ?? [],
        release.stageIndex,
        release.stageStartedAt,
      ).map(gateView);
      if (inStage.size === 0) {
        blockers.push({
          kind: 'no_targets',
          message: `no target is in stage ${release.stageIndex + 1} ${spec.name} (${fleet.targets} target(s) in the channel)`,
        });
      }
      // shadow gates never hold a release: they are shown in `gates`, not as blockers
      const open = gates.filter((g) => g.verdict !== 'pass' && g.mode !== 'shadow');
      if (open.length > 0) {
        blockers.push({
          kind: 'gates',
          message: open
            .map((g) =>
              g.compare === undefined
                ? `${g.metric} ${g.verdict}: ${g.reasons.join('; ')}`
                : `compare ${g.verdict}: ${g.words}`,
            )
            .join(' | '),
        });
      }
      const elapsed = Math.floor((now.getTime() - Date.parse(release.stageStartedAt)) / 1000);
      const soakLeft = spec.soakSeconds - elapsed;
      if (open.length === 0 && soakLeft > 0) {
        blockers.push({ kind: 'soak', message: `soak: ${formatDuration(soakLeft)} left` });
      } else if (open.length === 0 && freeze !== null) {
        blockers.push({ kind: 'freeze', message: `${freezeText} holds the next step` });
      }
    }
  }
  if (!isTerminal(release.state) && refusals.targets > 0) {
    blockers.push({
      kind: 'refusals',
      message: `${refusals.targets} target(s) refused the pack: ${refusals.groups.map((g) => `${g.kind} ${g.code} ×${g.targets}`).join(', ')}`,
    });
  }
  return {
    at,
    blockers,
    freeze,
    stage,
    gates,
    refusals,
    approvals,
    verification,
  };
}

/**
 * Prometheus gates that were not asked now take the result recorded for the same rendered query
 * in the same stage (since it started), newest record first; the rest stay as evaluated.
 */
export function withRecordedAnswers(
  gates: readonly HealthGateResult[],
  recorded: readonly RecordedGates[],
  stageIndex: number,
  stageStartedAt: string,
): HealthGateResult[] {
  const started = Date.parse(stageStartedAt);
  const inStage = recorded.filter(
    (r) => r.stageIndex === stageIndex && Date.parse(r.at) >= started,
  );
  return gates.map((gate) => {
    if (gate.provider !== 'prometheus' || gate.answer !== undefined || gate.query === undefined) {
      return gate;
    }
    for (const record of inStage) {
      const found = record.gates.find(
        (g) => g.provider === 'prometheus' && g.query === gate.query && g.answer !== undefined,
      );
      if (found?.answer !== undefined) {
        return {
          ...found,
          reasons: [
            ...found.reasons,
            `answer of ${found.answer.at}, recorded in decision ${record.seq} at ${record.at}`,
          ],
        };
      }
    }
    return gate;
  });
}

/** The gate results a decision record's inputs hold, or null when it holds none. */
export function recordedGatesOf(record: {
  seq: number;
  at: string;
  inputs: Record<string, unknown>;
}): RecordedGates | null {
  const { gates, stage } = record.inputs;
  if (!Array.isArray(gates) || gates.length === 0) return null;
  const index =
    typeof stage === 'object' && stage !== null ? (stage as { index?: unknown }).index : null;
  if (typeof index !== 'number') return null;
  return { seq: record.seq, at: record.at, stageIndex: index, gates: gates as HealthGateResult[] };
}

/** A gate result for the view: its verdict in words, a compare gate without its replay look. */
function gateView(gate: HealthGateResult): ReleaseWhy['gates'][number] {
  if (gate.compare === undefined) {
    const words =
      gate.verdict === 'inconclusive'
        ? `${gate.metric}: ${gate.reasons.join('; ')}`
        : `${gate.metric} ${gate.measured} ${gate.verdict === 'pass' ? 'satisfies' : 'violates'} ${gate.op} ${gate.threshold}`;
    return { ...gate, words };
  }
  const { look: _look, ...compare } = gate.compare;
  return { ...gate, compare, words: compareInWords(gate.compare.evidence) };
}

function approvalsOf(context: ReleaseContext): ReleaseWhy['approvals'] {
  const { release } = context;
  const index = approvalStageOf(release);
  if (index === null) return null;
  const spec = release.plan.stages[index];
  const needed = spec?.approvals ?? 0;
  if (spec === undefined || needed === 0) return null;
  const approvers = [
    ...new Set(release.approvals.filter((a) => a.stage === index).map((a) => a.actor)),
  ].sort();
  return {
    stage: index,
    name: spec.name,
    needed,
    approvers,
    waiting:
      approvers.length < needed && index === release.stageIndex && release.stageStartedAt === null,
  };
}

function refusalsOf(
  failedAttempts: FleetSummary['failedAttempts'],
  since: string,
): ReleaseWhy['refusals'] {
  const sinceMs = Date.parse(since);
  const groups = new Map<string, RefusalGroup & { ids: string[] }>();
  let count = 0;
  for (const target of failedAttempts) {
    const attempt = target.lastAttempt;
    const atMs = Date.parse(attempt.at);
    if (!Number.isFinite(atMs) || atMs < sinceMs) continue;
    count += 1;
    const code = attempt.code ?? '(none)';
    const key = `${attempt.kind}\n${code}`;
    const group = groups.get(key) ?? { kind: attempt.kind, code, targets: 0, sample: [], ids: [] };
    group.targets += 1;
    group.ids.push(target.id);
    groups.set(key, group);
  }
  return {
    targets: count,
    groups: [...groups.values()]
      .sort((a, b) => b.targets - a.targets || a.code.localeCompare(b.code))
      .map(({ ids, ...group }) => ({
        ...group,
        sample: ids.sort().slice(0, MAX_SAMPLE_TARGETS),
      })),
  };
}

/** Loads the controller's context and the channel's targets, and explains; null when ended. */
export async function loadReleaseWhy(
  stores: UsedStores,
  blobs: BlobStore,
  stored: StoredRelease,
  now: Date,
  /** the controller's kept inputs (release-inputs.ts): without them everything is read */
  inputs?: ReleaseInputs,
): Promise<ReleaseWhy | null> {
  const { release } = stored;
  if (isTerminal(release.state)) return null;
  // the kept inputs held before the transaction opens (ReleaseInputs.hold)
  return withInputsHeld(inputs, { env: release.env, name: release.channel }, () =>
    stores.transaction(async (tx) => {
      const channel = await tx.channels.find(release.env, release.channel);
      if (channel === null) return null;
      // read no earlier than the kept inputs were last read (see ReleaseInputs.notBefore)
      const at = inputs?.notBefore(channel, now) ?? now;
      const context = await loadReleaseContext(tx, blobs, release, channel, at, inputs);
      const fleet = await tx.targets.packSummary(release.env, release.channel, release.pack);
      const hasPrometheusGate =
        release.plan.stages[release.stageIndex]?.gates.some(isPrometheusGate) ?? false;
      const recorded = hasPrometheusGate
        ? (
            await tx.decisions.list({
              release: release.id,
              limit: MAX_RECORDS_FOR_GATES,
              newestFirst: true,
            })
          )
            .map(recordedGatesOf)
            .filter((r) => r !== null)
        : [];
      return explainRelease(
        {
          context,
          fleet,
          createdAt: stored.createdAt,
          recorded,
        },
        at,
      );
    }),
  );
}
