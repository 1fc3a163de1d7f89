/**
 * What a webhook posts. `json`: the generic body, schema `lockgate.webhook/v1`, with the
 * decision record's identity (seq, id, digest) so a receiver can fetch and verify it from the
 * log. `slack`: a Slack incoming-webhook body (`text` plus one section block), signed the same
 * way so any receiver can check it.
 */
import type { WebhookEvent } from './webhook-events.ts';
import type { WebhookFormat } from '@lockgate/api';

export const WEBHOOK_SCHEMA = 'lockgate.webhook/v1';

export interface WebhookPayload {
  schema: typeof WEBHOOK_SCHEMA;
  id: string;
  type: string;
  at: string;
  env: string | null;
  channel: string | null;
  release: string | null;
  summary: string;
  decision: {
    seq: number;
    id: string;
    digest: string;
    kind: string;
    rule: string;
    actor: string;
    reason: string | null;
    from: string | null;
    to: string | null;
    stageIndex: number | null;
    verdict: string;
  } | null;
}

export function eventPayload(event: WebhookEvent): WebhookPayload {
  const { record } = event;
  return {
    schema: WEBHOOK_SCHEMA,
    id: event.id,
    type: event.type,
    at: record.at,
    env: record.env,
    channel: record.channel,
    release: record.release,
    summary: event.summary,
    decision: {
      seq: record.seq,
      id: record.id,
      digest: record.digest,
      kind: record.kind,
      rule: record.rule,
      actor: record.actor,
      reason: record.reason,
      from: record.from,
      to: record.to,
      stageIndex: record.stageIndex,
      verdict: record.verdict,
    },
  };
}

/** The bytes posted for a payload in a subscription's format. */
export function bodyOf(payload: WebhookPayload, format: WebhookFormat): string {
  if (format === 'json') return JSON.stringify(payload);
  const where = [payload.env, payload.channel].filter((part) => part !== null).join('/');
  const fields = [
    `*${payload.type}*`,
    where === '' ? null : `scope: \`${where}\``,
    payload.release === null ? null : `release: \`${payload.release}\``,
    payload.decision === null
      ? null
      : `decision: #${payload.decision.seq} \`${payload.decision.rule}\``,
  ].filter((field) => field !== null);
  return JSON.stringify({
    text: payload.summary,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `${escapeSlack(payload.summary)}` } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: fields.join('  ·  ') }] },
    ],
  });
}

/** Slack's three control characters in mrkdwn text. */
function escapeSlack(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
