/**
 * Agent refusals as evidence against a started stage: what the stage's targets report about
 * their last attempt at the release's pack.
 *
 * Invariants: pure; only the latest report of each stage target counts, and only an attempt at
 * the release's own pack made since the stage started; a stage that has not started has no
 * refusals; a verification refusal always fails the stage (fail closed), an activation failure
 * fails it unless an `activation_success_rate` gate judges activations; the summary is sorted by
 * kind and code, so the same reports always yield the same summary.
 */
import { modeOf } from './gate-policy.ts';
import type { TargetReport } from './health-gate.ts';
import { parseTime } from './instant.ts';
import { stageOf } from './release-step.ts';
import type { ReleaseContext, ReleaseState } from './release-state.ts';

/** Refusals of the release's pack by the stage's targets, by attempt kind and code. */
export interface StageRefusal {
  kind: 'verify' | 'activate';
  code: string;
  targets: number;
}

/**
 * Agent refusals are evidence against the stage: a stage target whose latest report (in the
 * context's window) carries a failed `verify` or `activate` attempt at the release's pack, made
 * since the stage started, refused it. A verification refusal (the agent would not activate the
 * pack at all: incompatible, below its floor, a hash or signature that does not verify) fails
 * the stage at once, fail closed. A failed activation (the pack ran and failed its local health
 * check, and the agent reverted) fails the stage too, unless the stage has an
 * `activation_success_rate` gate, whose threshold then judges activations.
 */
export function stageRefusals(
  context: ReleaseContext,
  release: ReleaseState,
): { failing: boolean; summary: StageRefusal[] } {
  const started = release.stageStartedAt === null ? null : parseTime(release.stageStartedAt);
  if (started === null) return { failing: false, summary: [] };
  // each stage target's latest attempt: from its latest report, or from the stage measures
  const attempts: { kind: string; pack: string; result: string; code?: string; at: string }[] = [];
  if (context.measures !== undefined) {
    for (const r of context.measures.refusals) {
      attempts.push({
        kind: r.kind,
        pack: release.pack,
        result: 'failed',
        code: r.code,
        at: r.attemptAt,
      });
    }
  } else {
    const inStage = new Set(context.stageTargets);
    const latest = new Map<string, TargetReport>();
    for (const report of context.reports) {
      if (!inStage.has(report.targetId)) continue;
      const seen = latest.get(report.targetId);
      if (seen === undefined || (parseTime(report.at) ?? 0) >= (parseTime(seen.at) ?? 0)) {
        latest.set(report.targetId, report);
      }
    }
    for (const report of latest.values()) {
      if (report.lastAttempt !== undefined) attempts.push(report.lastAttempt);
    }
  }
  const counts = new Map<string, StageRefusal>();
  for (const attempt of attempts) {
    if (
      attempt.pack !== release.pack ||
      attempt.result !== 'failed' ||
      (attempt.kind !== 'verify' && attempt.kind !== 'activate') ||
      (parseTime(attempt.at) ?? -Infinity) < started
    ) {
      continue;
    }
    const code = attempt.code ?? 'UNKNOWN';
    const key = `${attempt.kind}\n${code}`;
    const entry = counts.get(key) ?? { kind: attempt.kind, code, targets: 0 };
    entry.targets += 1;
    counts.set(key, entry);
  }
  const summary = [...counts.values()].sort((a, b) =>
    a.kind === b.kind ? (a.code < b.code ? -1 : a.code > b.code ? 1 : 0) : a.kind < b.kind ? -1 : 1,
  );
  // only an enforcing gate takes over: a shadow gate never changes what happens
  const judgedByGate = stageOf(release).gates.some(
    (g) =>
      modeOf(g) === 'enforce' &&
      'metric' in g &&
      (g.metric === 'activation_success_rate' || g.metric === 'activation_failure_rate'),
  );
  const failing = summary.some((r) => r.kind === 'verify' || !judgedByGate);
  return { failing, summary };
}
