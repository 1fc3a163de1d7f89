/** Readable timelines of the demo's releases, from their decision records. */
import { formatGateResult } from '../release-format.ts';

/** The fields of a decision record the demo reads (docs/api-releases.md). */
export interface DemoDecisionRecord {
  seq: number;
  at: string;
  kind: string;
  rule: string;
  actor: string;
  reason: string | null;
  from: string;
  to: string;
  stageIndex: number;
  inputs: Record<string, unknown>;
  verdict: string;
}

interface StageView {
  name?: unknown;
  percent?: unknown;
  cohort?: unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stageText(value: unknown): string {
  if (!isRecord(value)) return 'the stage';
  const stage = value as StageView;
  const name = typeof stage.name === 'string' ? stage.name : '?';
  const percent = typeof stage.percent === 'number' ? `${stage.percent}%` : '?%';
  const scope = typeof stage.cohort === 'string' ? `${percent} of cohort ${stage.cohort}` : percent;
  return `${name} (${scope})`;
}

/** `FAIL error_rate 0.200 > 0.050 (targets 2, samples 57)`: the verdict, then the CLI's gate text. */
export function gateText(value: unknown): string {
  const verdict = isRecord(value) && typeof value['verdict'] === 'string' ? value['verdict'] : '?';
  return `${verdict.toUpperCase().padEnd(4)}  ${formatGateResult(value)}`;
}

/** One sentence for a decision record. `packLabel` turns a digest into `v2`-style names. */
export function describeDecision(
  record: DemoDecisionRecord,
  packLabel: (digest: unknown) => string,
): string {
  const inputs = record.inputs;
  switch (record.rule) {
    case 'release.create':
      return `release requested${record.reason === null ? '' : `: ${record.reason}`}`;
    case 'release.start':
      return 'release started: verifying the pack';
    case 'verification.passed':
      return 'pack verified (eligible, signed, compatible)';
    case 'verification.failed':
    case 'verification.failed_during_rollout':
      return `verification failed → ${record.to}`;
    case 'stage.start':
    case 'approvals.met':
      return `stage ${stageText(inputs['stage'])} started`;
    case 'stage.soak_complete':
      return record.to === 'completed'
        ? `stage ${stageText(inputs['stage'])} passed its gates and soak → completed: the pack is the channel's base and LKG`
        : `stage ${stageText(inputs['stage'])} passed its gates and soak → ${stageText(inputs['next'])}`;
    case 'gate.failed': {
      const rollback = isRecord(inputs['rollback']) ? inputs['rollback'] : {};
      return `health gate failed in stage ${stageText(inputs['stage'])} → rolled back to ${packLabel(rollback['to'])}`;
    }
    case 'gate.inconclusive_past_deadline':
      return `gates still inconclusive at the progress deadline → paused`;
    default:
      return record.kind === 'command'
        ? `${record.actor}: ${record.rule.replace(/^command\./, '')}${record.reason === null ? '' : ` (${record.reason})`} → ${record.to}`
        : `${record.rule}: ${record.from} → ${record.to}`;
  }
}

function clock(at: string): string {
  return at.length >= 23 ? at.slice(11, 23) : at;
}

/** The release's timeline as indented lines: time, offset, actor, sentence, then its gates. */
export function formatTimeline(
  records: readonly DemoDecisionRecord[],
  packLabel: (digest: unknown) => string,
): string[] {
  const first = records[0];
  const start = first === undefined ? 0 : Date.parse(first.at);
  const actorWidth = Math.max(10, ...records.map((r) => r.actor.length));
  const lines: string[] = [];
  for (const record of records) {
    const offset = ((Date.parse(record.at) - start) / 1000).toFixed(1).padStart(5);
    const head = `  ${clock(record.at)} +${offset}s  ${record.actor.padEnd(actorWidth)}  `;
    lines.push(`${head}${describeDecision(record, packLabel)}`);
    const gates = record.inputs['gates'];
    if (Array.isArray(gates) && gates.length > 0) {
      for (const gate of gates) lines.push(`${' '.repeat(head.length + 2)}${gateText(gate)}`);
    }
  }
  return lines;
}
