/**
 * Which release events a decision record announces. Pure: a record in, events out, so the
 * outbox written with the record and a replay of the log agree on what was announced.
 *
 * Invariants: a record announces each event type at most once; the event id is a function of
 * the record id and the type, so the same record never queues the same event twice; records
 * that are not about a release or a freeze announce nothing.
 */
import { activeFreeze } from '@lockgate/core';
import type { FreezeWindow } from '@lockgate/core';
import type { DecisionRecord } from '../decisions/public.ts';
import { WEBHOOK_EVENT_TYPES } from '@lockgate/api';
import type { WebhookEventType } from '@lockgate/api';

/** What `lockgate webhook test` sends: never derived from a record. */
export const WEBHOOK_TEST_EVENT = 'webhook.test';

export interface WebhookEvent {
  /** `<record id>:<type>`: stable, a receiver deduplicates on it */
  id: string;
  type: WebhookEventType;
  /** a sentence for humans (the Slack text) */
  summary: string;
  record: DecisionRecord;
}

/** Rules by which a release fails a gate (health, agent refusals, verification). */
const GATE_FAILED_RULES: ReadonlySet<string> = new Set([
  'gate.failed',
  'stage.refused',
  'verification.failed',
  'verification.failed_during_rollout',
]);

/**
 * Freeze rules that start a freeze at once, whatever their window says: stop the line, the error
 * budget policy, and the start of a scheduled window's occurrence (recorded once per occurrence).
 */
const FREEZE_NOW_RULES: ReadonlySet<string> = new Set([
  'freeze.stop_the_line',
  'freeze.error_budget_exhausted',
  'freeze.window_started',
]);

export function isWebhookEventType(value: string): value is WebhookEventType {
  return (WEBHOOK_EVENT_TYPES as readonly string[]).includes(value);
}

/** The events one decision record announces, in a fixed order. */
export function webhookEventsOf(record: DecisionRecord): WebhookEvent[] {
  const types: [WebhookEventType, string][] = [];
  const where = record.channel === null ? `${record.env ?? ''}` : `${record.env}/${record.channel}`;
  const release = record.release ?? '';
  if (record.kind === 'freeze') {
    if (freezeStarts(record)) {
      types.push([
        'freeze.started',
        `Environment ${record.env} is frozen: ${freezeReason(record)}`,
      ]);
    }
  } else if (record.release !== null) {
    if (record.rule === 'release.create') {
      types.push(['release.requested', `Release ${release} requested in ${where}`]);
    }
    if (record.rule === 'stage.soak_complete' && record.to !== 'completed') {
      types.push([
        'release.stage_passed',
        `Release ${release} passed stage ${(record.stageIndex ?? 0) + 1} in ${where}`,
      ]);
    }
    if (record.verdict === 'awaiting_approval') {
      types.push(['release.approval_needed', `Release ${release} waits for approval in ${where}`]);
    }
    if (GATE_FAILED_RULES.has(record.rule)) {
      types.push(['release.gate_failed', `Release ${release} failed ${record.rule} in ${where}`]);
    }
    if (record.to === 'paused' && record.from !== 'paused') {
      types.push(['release.paused', `Release ${release} paused in ${where}`]);
    }
    if (record.to === 'rolled_back' && record.from !== 'rolled_back') {
      types.push(['release.rolled_back', `Release ${release} rolled back in ${where}`]);
    }
    if (record.to === 'completed' && record.from !== 'completed') {
      types.push(['release.completed', `Release ${release} completed in ${where}`]);
    }
  }
  return types.map(([type, summary]) => ({
    id: `${record.id}:${type}`,
    type,
    summary:
      record.reason === null || record.reason === '' ? summary : `${summary} (${record.reason})`,
    record,
  }));
}

/** A freeze record starts a freeze when it creates a window already in effect at its time. */
function freezeStarts(record: DecisionRecord): boolean {
  if (FREEZE_NOW_RULES.has(record.rule)) return true;
  if (record.rule !== 'freeze.created') return false;
  const window = record.inputs['freezeWindow'] as FreezeWindow | undefined;
  if (window === undefined) return false;
  return activeFreeze([window], record.at) !== null;
}

function freezeReason(record: DecisionRecord): string {
  const window = record.inputs['freezeWindow'] as { reason?: unknown } | undefined;
  if (typeof window?.reason === 'string') return window.reason;
  return record.reason ?? record.rule;
}
