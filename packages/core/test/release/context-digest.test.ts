import { describe, expect, it } from 'vitest';
import { canonicalBytes } from '../../src/canonical-json.ts';
import { digestOf } from '../../src/digest.ts';
import type { Digest } from '../../src/digest.ts';
import { releaseDraft } from '../../src/channel/release-changes.ts';
import { replayRecords } from '../../src/evidence/replay-records.ts';
import type { ReplayRecord } from '../../src/evidence/replay-records.ts';
import {
  applyCommand,
  contextHead,
  isContextHead,
  isContextNamed,
  joinContextHead,
  listDigest,
  releaseContextDigest,
} from '../../src/release/index.ts';
import type { DecisionDraft, ReleaseContext } from '../../src/release/index.ts';
import { at, context, ids, release, simplePlan } from './fixtures.ts';

const TARGETS = ids(5).map((id) => ({ id, labels: { zone: id.endsWith('1') ? 'b' : 'a' } }));

function rolling(): ReleaseContext {
  return context(release(simplePlan(), { state: 'rolling', stageStartedAt: at(0) }), {
    targets: TARGETS,
    stageTargets: TARGETS.slice(0, 2).map((t) => t.id),
  });
}

/** A log record of a core draft, as the server writes it (seq and id added). */
function recordOf(draft: DecisionDraft, seq: number): ReplayRecord {
  const logged = releaseDraft(draft, { env: 'prod', name: 'stable' });
  return { ...logged, seq, id: `record-${seq}`, coreVersion: '0.1.0+decide.2' };
}

describe('context heads', () => {
  it('names a release context by its head, which holds each list by digest and length', () => {
    const ctx = rolling();
    const head = contextHead(ctx);
    expect(head.targets).toEqual({
      digest: digestOf(canonicalBytes(TARGETS)),
      length: TARGETS.length,
    });
    expect(head.stageTargets.length).toBe(2);
    expect(isContextHead(head)).toBe(true);
    expect(isContextHead(ctx)).toBe(false);
    expect(releaseContextDigest(ctx)).toBe(digestOf(canonicalBytes(head)));
    // A list is digested once per array: the same array gives the same digest, a copy too.
    expect(listDigest(ctx.targets)).toBe(listDigest([...ctx.targets]));
  });

  it('changes the digest when a target or its labels change, not when the array is a copy', () => {
    const ctx = rolling();
    const relabelled = TARGETS.map((t, i) => (i === 3 ? { ...t, labels: { zone: 'c' } } : t));
    expect(releaseContextDigest({ ...ctx, targets: [...TARGETS] })).toBe(releaseContextDigest(ctx));
    expect(releaseContextDigest({ ...ctx, targets: relabelled })).not.toBe(
      releaseContextDigest(ctx),
    );
    expect(releaseContextDigest({ ...ctx, stageTargets: ['t-0000'] })).not.toBe(
      releaseContextDigest(ctx),
    );
  });

  it('joins a head with its lists only when each hashes to the digest and length it names', () => {
    const ctx = rolling();
    const head = JSON.parse(JSON.stringify(contextHead(ctx))) as ReturnType<typeof contextHead>;
    const lists = new Map<Digest, readonly unknown[]>([
      [listDigest(ctx.targets), JSON.parse(JSON.stringify(ctx.targets)) as unknown[]],
      [listDigest(ctx.stageTargets), [...ctx.stageTargets]],
    ]);
    const joined = joinContextHead(head, (d) => lists.get(d) ?? null);
    expect(joined).toEqual(JSON.parse(JSON.stringify(ctx)));
    expect(joined === null ? null : releaseContextDigest(joined)).toBe(releaseContextDigest(ctx));
    // A list missing, edited (same length) or cut short: no context.
    expect(
      joinContextHead(head, (d) => (d === head.targets.digest ? null : (lists.get(d) ?? null))),
    ).toBeNull();
    const edited = TARGETS.map((t, i) => (i === 0 ? { ...t, id: 't-9999' } : t));
    expect(
      joinContextHead(head, (d) => (d === head.targets.digest ? edited : (lists.get(d) ?? null))),
    ).toBeNull();
    expect(
      joinContextHead(head, (d) =>
        d === head.stageTargets.digest ? ['t-0000'] : (lists.get(d) ?? null),
      ),
    ).toBeNull();
  });

  it('takes either name of a context: its head digest and the digest of its whole JCS bytes', () => {
    const ctx = rolling();
    expect(isContextNamed(ctx, releaseContextDigest(ctx))).toBe(true);
    expect(isContextNamed(ctx, digestOf(canonicalBytes(ctx)))).toBe(true);
    expect(isContextNamed({ ...ctx, targets: TARGETS.slice(1) }, releaseContextDigest(ctx))).toBe(
      false,
    );
    // Anything else (a channel call) is named by its whole JCS bytes only.
    expect(isContextNamed({ fn: 'pin' }, digestOf(canonicalBytes({ fn: 'pin' })))).toBe(true);
  });

  it('replays records that name the context by its whole digest (revision 2) as matching', () => {
    const ctx = rolling();
    const now = at(30);
    const command = { kind: 'pause', actor: 'alice', reason: 'look' } as const;
    const drafts = applyCommand(ctx.release, command, ctx, now).decisions;
    expect(drafts[0]?.inputs['context']).toBe(releaseContextDigest(ctx));
    const whole = digestOf(canonicalBytes(ctx));
    const before = drafts.map((d) => ({ ...d, inputs: { ...d.inputs, context: whole } }));
    const stored = { context: JSON.parse(JSON.stringify(ctx)) as unknown, intact: true };
    for (const named of [drafts, before]) {
      const records = named.map((d, i) => recordOf(d, i + 1));
      const figures = replayRecords(records, (d) =>
        d === named[0]?.inputs['context'] ? stored : null,
      );
      expect(figures).toMatchObject({ total: named.length, matching: named.length });
    }
    // A record naming a digest that is no name of the context still mismatches.
    const other = drafts.map((d) => ({ ...d, inputs: { ...d.inputs, context: digestOf('x') } }));
    const figures = replayRecords(
      other.map((d, i) => recordOf(d, i + 1)),
      () => stored,
    );
    expect(figures.mismatches).toBe(other.length);
  });
});
