import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../src/features/decisions/decision-store.ts';
import { bodyOf, eventPayload } from '../../src/features/webhooks/webhook-body.ts';
import { webhookEventsOf } from '../../src/features/webhooks/webhook-events.ts';
import {
  signatureHeader,
  verifyWebhookSignature,
} from '../../src/features/webhooks/webhook-signature.ts';
import { retryDelayMs } from '../../src/features/webhooks/webhook-worker.ts';

const AT = '2026-03-02T08:00:00.000Z';

function record(overrides: Partial<DecisionRecord>): DecisionRecord {
  return {
    seq: 7,
    id: 'dec_1',
    release: 'rel_1',
    env: 'prod-eu',
    channel: 'stable',
    at: AT,
    kind: 'stage',
    rule: 'stage.start',
    actor: 'controller',
    reason: null,
    from: 'rolling',
    to: 'rolling',
    stageIndex: 0,
    inputs: {},
    verdict: 'started',
    holder: 'h1',
    digest: `sha256:${'a'.repeat(64)}`,
    prevDigest: null,
    coreVersion: null,
    ...overrides,
  };
}

const typesOf = (r: DecisionRecord): string[] => webhookEventsOf(r).map((e) => e.type);

describe('webhook events of a decision record', () => {
  it('announces a requested release', () => {
    expect(
      typesOf(record({ kind: 'command', rule: 'release.create', from: null, to: 'requested' })),
    ).toEqual(['release.requested']);
  });

  it('announces a passed stage, and an approval wait when the next stage needs one', () => {
    expect(typesOf(record({ rule: 'stage.soak_complete', verdict: 'advanced' }))).toEqual([
      'release.stage_passed',
    ]);
    expect(typesOf(record({ rule: 'stage.soak_complete', verdict: 'awaiting_approval' }))).toEqual([
      'release.stage_passed',
      'release.approval_needed',
    ]);
  });

  it('announces a completion, not a passed stage, when the last stage soaks', () => {
    expect(
      typesOf(
        record({
          kind: 'completion',
          rule: 'stage.soak_complete',
          to: 'completed',
          verdict: 'completed',
        }),
      ),
    ).toEqual(['release.completed']);
  });

  it('announces a failed gate with the rollback it caused', () => {
    expect(
      typesOf(
        record({ kind: 'health', rule: 'gate.failed', to: 'rolled_back', verdict: 'rolled_back' }),
      ),
    ).toEqual(['release.gate_failed', 'release.rolled_back']);
  });

  it('announces a pause once, when the release enters it', () => {
    expect(typesOf(record({ kind: 'command', rule: 'command.pause', to: 'paused' }))).toEqual([
      'release.paused',
    ]);
    expect(
      typesOf(
        record({ rule: 'freeze.blocks_advance', kind: 'freeze', from: 'paused', to: 'paused' }),
      ),
    ).toEqual([]);
  });

  it('announces a freeze that starts now and not one scheduled for later', () => {
    const window = (start: string, end: string): Record<string, unknown> => ({
      freezeWindow: { id: 'frz_1', reason: 'incident', kind: 'once', start, end },
    });
    const freeze = {
      release: null,
      channel: null,
      kind: 'freeze',
      rule: 'freeze.created',
      from: null,
      to: null,
      stageIndex: null,
    };
    expect(
      typesOf(
        record({ ...freeze, inputs: window('2026-03-02T07:00:00Z', '2026-03-02T09:00:00Z') }),
      ),
    ).toEqual(['freeze.started']);
    expect(
      typesOf(
        record({ ...freeze, inputs: window('2026-03-03T07:00:00Z', '2026-03-03T09:00:00Z') }),
      ),
    ).toEqual([]);
    expect(typesOf(record({ ...freeze, rule: 'freeze.stop_the_line', inputs: {} }))).toEqual([
      'freeze.started',
    ]);
    // the start of a scheduled window's occurrence, recorded when it begins
    expect(
      typesOf(
        record({
          ...freeze,
          rule: 'freeze.window_started',
          inputs: window('2026-03-03T07:00:00Z', '2026-03-03T09:00:00Z'),
        }),
      ),
    ).toEqual(['freeze.started']);
  });

  it('announces nothing for records about tokens, pins or webhooks', () => {
    expect(
      typesOf(
        record({ release: null, kind: 'token', rule: 'token.created', from: null, to: null }),
      ),
    ).toEqual([]);
    expect(
      typesOf(record({ release: null, kind: 'pin', rule: 'pin.set', from: null, to: null })),
    ).toEqual([]);
  });

  it('gives each event an id made of the record and the type, so it is queued once', () => {
    const events = webhookEventsOf(
      record({ rule: 'stage.soak_complete', verdict: 'awaiting_approval' }),
    );
    expect(events.map((e) => e.id)).toEqual([
      'dec_1:release.stage_passed',
      'dec_1:release.approval_needed',
    ]);
  });

  it('puts the record identity in the JSON body and the summary in the Slack text', () => {
    const [event] = webhookEventsOf(
      record({
        kind: 'command',
        rule: 'release.create',
        from: null,
        to: 'requested',
        reason: 'ship <b>',
      }),
    );
    if (event === undefined) throw new Error('expected an event');
    const payload = eventPayload(event);
    expect(payload.decision).toMatchObject({ seq: 7, id: 'dec_1', rule: 'release.create' });
    const slack = JSON.parse(bodyOf(payload, 'slack')) as {
      text: string;
      blocks: { text?: { text: string } }[];
    };
    expect(slack.text).toContain('ship <b>');
    expect(slack.blocks[0]?.text?.text).toContain('ship &lt;b&gt;');
  });
});

describe('webhook signatures', () => {
  const secret = 'whsec_0123456789abcdef';
  const now = 1_800_000_000;

  it('verifies a body signed at a time within the tolerance', () => {
    const header = signatureHeader(secret, now - 10, '{"a":1}');
    expect(verifyWebhookSignature(secret, header, '{"a":1}', now)).toEqual({
      ok: true,
      timestamp: now - 10,
    });
  });

  it('refuses a replay older than the tolerance, even with a valid signature', () => {
    const header = signatureHeader(secret, now - 301, '{"a":1}');
    expect(verifyWebhookSignature(secret, header, '{"a":1}', now)).toEqual({
      ok: false,
      problem: 'too_old',
    });
  });

  it('refuses a new timestamp pasted onto an old signature', () => {
    const old = signatureHeader(secret, now - 3600, '{"a":1}');
    const moved = old.replace(`t=${now - 3600}`, `t=${now}`);
    expect(verifyWebhookSignature(secret, moved, '{"a":1}', now)).toEqual({
      ok: false,
      problem: 'mismatch',
    });
  });

  it('refuses a header without a timestamp or a signature', () => {
    expect(verifyWebhookSignature(secret, undefined, '{}', now)).toEqual({
      ok: false,
      problem: 'malformed',
    });
    expect(verifyWebhookSignature(secret, `t=${now}`, '{}', now)).toEqual({
      ok: false,
      problem: 'malformed',
    });
  });

  it('accepts any of several v1 values, as during a secret rotation', () => {
    const header = `${signatureHeader('whsec_the-old-secret-0000', now, 'x')},v1=${signatureHeader(secret, now, 'x').split('v1=')[1]}`;
    expect(verifyWebhookSignature(secret, header, 'x', now).ok).toBe(true);
  });

  it('never verifies a body with one byte changed', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 200 }),
        fc.nat(),
        fc.integer({ min: 1, max: 0xffff }),
        (body, at, flip) => {
          const i = at % body.length;
          const changed =
            body.slice(0, i) + String.fromCharCode(body.charCodeAt(i) ^ flip) + body.slice(i + 1);
          fc.pre(changed !== body);
          const header = signatureHeader(secret, now, body);
          return !verifyWebhookSignature(secret, header, changed, now).ok;
        },
      ),
    );
  });
});

describe('retry backoff', () => {
  it('doubles from the base after each failed attempt and stops at the cap', () => {
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, 1000, 10_000))).toEqual([
      1000, 2000, 4000, 8000, 10_000,
    ]);
  });

  it('never shrinks as attempts grow', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        (n) => retryDelayMs(n + 1, 500, 900_000) >= retryDelayMs(n, 500, 900_000),
      ),
    );
  });
});
