/**
 * How often each shadow gate of a channel agreed with what happened, read from the decision
 * records (`GET /channels/{env}/{channel}/gate-report`, `lockgate gate report`).
 *
 * For every release of the channel that ended `completed` or `rolled_back` (the newest
 * MAX_REPORT_RELEASES of each), each shadow gate of its plan that was evaluated (it appears in the
 * `gates` of a decision of that release, matched by `stage#index`) counts once:
 * - it `failed` when any recorded verdict of it is `fail`;
 * - it agreed when it failed and the release was rolled back, or never failed and the release
 *   completed; a failure of a completed release is a false alarm, no failure of a rolled-back
 *   release a miss.
 * Shadow gates are grouped by stage name and what they check, so the same gate in successive
 * plans adds up. Verdicts are the ones recorded with the release's decisions (each stage start,
 * advance, pause and end), not every tick's. Pure apart from `loadGateReport`.
 */
import { LockgateError } from '@lockgate/core';
import type { ReleaseState, StageGate } from '@lockgate/core';
import type { Stores } from '../../stores.ts';
import type { DecisionRecord } from './decision-store.ts';

/** Newest ended releases one report reads. */
export const MAX_REPORT_RELEASES = 200;
const MAX_RECORDS_PER_RELEASE = 10_000;

export interface ShadowGateAgreement {
  stage: string;
  /** what the gate checks, e.g. `error_rate <= 0.05 over 300s` or `compare error_rate …` */
  gate: string;
  onFail: 'rollback' | 'pause';
  /** ended releases in which the gate was evaluated */
  releases: number;
  agreed: number;
  /** failed, yet the release completed */
  falseAlarms: number;
  /** never failed, yet the release was rolled back */
  missed: number;
  /** agreed / releases; null without releases */
  agreement: number | null;
}

export interface GateReport {
  env: string;
  channel: string;
  /** ended releases read (completed or rolled back) */
  releases: { completed: number; rolledBack: number };
  gates: ShadowGateAgreement[];
}

/** What a gate checks, in a few words. */
export function gateLabel(gate: StageGate): string {
  if ('provider' in gate) return `prometheus ${gate.query} ${gate.op} ${gate.threshold}`;
  if ('kind' in gate) {
    const margin =
      'relative' in gate.margin
        ? `${Number((100 * gate.margin.relative).toPrecision(3))}%`
        : `${gate.margin.absolute}`;
    return `compare ${gate.metric} against the baseline (α ${gate.alpha}, margin ${margin})`;
  }
  return `${gate.metric} ${gate.op} ${gate.threshold} over ${gate.windowSeconds}s`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The report from the channel's ended releases and their decision records. */
export function gateReport(
  env: string,
  channel: string,
  ended: readonly { release: ReleaseState; records: readonly DecisionRecord[] }[],
): GateReport {
  const groups = new Map<string, ShadowGateAgreement>();
  let completed = 0;
  let rolledBack = 0;
  for (const { release, records } of ended) {
    if (release.state === 'completed') completed += 1;
    else if (release.state === 'rolled_back') rolledBack += 1;
    else continue;
    const verdicts = new Map<string, string[]>();
    for (const record of records) {
      const gates = record.inputs['gates'];
      if (!Array.isArray(gates)) continue;
      for (const gate of gates) {
        if (!isRecord(gate) || typeof gate['gate'] !== 'string') continue;
        const list = verdicts.get(gate['gate']) ?? [];
        list.push(String(gate['verdict']));
        verdicts.set(gate['gate'], list);
      }
    }
    release.plan.stages.forEach((stage) =>
      stage.gates.forEach((spec, index) => {
        if (spec.mode !== 'shadow') return;
        const seen = verdicts.get(`${stage.name}#${index}`);
        if (seen === undefined) return;
        const failed = seen.includes('fail');
        const label = gateLabel(spec);
        const onFail = spec.onFail ?? 'rollback';
        const key = `${stage.name}\n${label}\n${onFail}`;
        const group = groups.get(key) ?? {
          stage: stage.name,
          gate: label,
          onFail,
          releases: 0,
          agreed: 0,
          falseAlarms: 0,
          missed: 0,
          agreement: null,
        };
        group.releases += 1;
        const rolled = release.state === 'rolled_back';
        if (failed === rolled) group.agreed += 1;
        else if (failed) group.falseAlarms += 1;
        else group.missed += 1;
        group.agreement = group.agreed / group.releases;
        groups.set(key, group);
      }),
    );
  }
  return {
    env,
    channel,
    releases: { completed, rolledBack },
    gates: [...groups.values()].sort(
      (a, b) => a.stage.localeCompare(b.stage) || a.gate.localeCompare(b.gate),
    ),
  };
}

/** Reads the channel's newest ended releases and their records, and reports; CHANNEL_NOT_FOUND. */
export async function loadGateReport(
  stores: Pick<Stores, 'channels' | 'releases' | 'decisions'>,
  env: string,
  channel: string,
): Promise<GateReport> {
  if ((await stores.channels.find(env, channel)) === null) {
    throw new LockgateError('CHANNEL_NOT_FOUND', `No channel ${env}/${channel}.`, {
      details: { env, channel },
    });
  }
  const ended = [];
  for (const state of ['completed', 'rolled_back'] as const) {
    const releases = await stores.releases.list({
      env,
      channel,
      state,
      limit: MAX_REPORT_RELEASES,
    });
    for (const stored of releases) {
      const records = await stores.decisions.list({
        release: stored.release.id,
        limit: MAX_RECORDS_PER_RELEASE,
      });
      ended.push({ release: stored.release, records });
    }
  }
  return gateReport(env, channel, ended);
}
