import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyCommand,
  CORE_PACKAGE_VERSION,
  CORE_VERSION,
  commandOfDraft,
  decide,
  decisionDigest,
  DECIDE_REVISION,
  firstDifference,
  replayCall,
} from '../../src/release/index.ts';
import type { ReleaseCommand } from '../../src/release/index.ts';
import { at, context, ids, release, reports, simplePlan } from './fixtures.ts';

/** What a stored context becomes after the canonical JSON round trip. */
function stored<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

describe('core version', () => {
  it('names the package version of core and the revision of the decision rules', () => {
    const manifest = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    expect(CORE_PACKAGE_VERSION).toBe(manifest.version);
    expect(CORE_VERSION).toBe(`${manifest.version}+decide.${DECIDE_REVISION}`);
  });
});

describe('replayCall', () => {
  const targets = ids(4);
  const rel = release(simplePlan(), { state: 'rolling', stageStartedAt: at(0) });
  const ctx = context(rel, {
    reports: reports(targets, at(650), { errorRate: 0.01 }),
    stageTargets: targets,
  });

  it('gives the digests of the controller drafts again from the stored context and time', () => {
    const drafts = decide(ctx, at(700)).decisions;
    expect(drafts.length).toBeGreaterThan(0);
    const replayed = replayCall({ context: stored(ctx), now: drafts[0]?.at ?? '', command: null });
    expect(replayed.map(decisionDigest)).toEqual(drafts.map(decisionDigest));
  });

  it('rebuilds every command from its draft, so each command draft replays to its digest', () => {
    const commands: ReleaseCommand[] = [
      { kind: 'pause', actor: 'bob', reason: 'looks odd' },
      { kind: 'abort', actor: 'bob', reason: 'stop' },
      { kind: 'promote', actor: 'bob', reason: 'go', full: true },
      { kind: 'promote', actor: 'bob', reason: 'go', full: false },
      { kind: 'promote', actor: 'bob', reason: 'go' },
    ];
    for (const command of commands) {
      const [draft] = applyCommand(rel, command, ctx, at(50)).decisions;
      if (draft === undefined) throw new Error(`no draft for ${command.kind}`);
      const rebuilt = commandOfDraft(stored(draft));
      expect(rebuilt).not.toBeNull();
      const [again] = replayCall({ context: stored(ctx), now: draft.at, command: rebuilt });
      expect(again === undefined ? null : decisionDigest(again)).toBe(decisionDigest(draft));
    }
  });

  it('treats drafts of the controller as no command', () => {
    const [draft] = decide(ctx, at(700)).decisions;
    expect(draft === undefined ? 'none' : commandOfDraft(draft)).toBeNull();
  });
});

describe('firstDifference', () => {
  it('names the first differing field with a path into the draft', () => {
    const expected = {
      rule: 'stage.soak_complete',
      inputs: { context: 'sha256:aa', gates: [{ metric: 'error_rate', threshold: 0.05 }] },
    };
    const actual = {
      rule: 'stage.soak_complete',
      inputs: { context: 'sha256:bb', gates: [{ metric: 'error_rate', threshold: 0.06 }] },
    };
    expect(firstDifference(expected, actual, { lookPast: ['inputs.context'] })).toEqual({
      path: 'inputs.gates[0].threshold',
      expected: 0.05,
      actual: 0.06,
    });
    expect(firstDifference(expected, actual)?.path).toBe('inputs.context');
  });

  it('reports a field looked past when nothing else differs', () => {
    expect(
      firstDifference(
        { inputs: { context: 'a' } },
        { inputs: { context: 'b' } },
        {
          lookPast: ['inputs.context'],
        },
      ),
    ).toEqual({ path: 'inputs.context', expected: 'a', actual: 'b' });
  });

  it('names missing keys, extra elements and keys that are not identifiers', () => {
    expect(firstDifference({ a: 1 }, { a: 1, b: 2 })).toEqual({
      path: 'b',
      expected: undefined,
      actual: 2,
    });
    expect(firstDifference({ a: [1] }, { a: [1, 2] })?.path).toBe('a[1]');
    expect(firstDifference({ 'x-y': 1 }, { 'x-y': 2 })?.path).toBe('["x-y"]');
    expect(firstDifference(1, 2)?.path).toBe('(value)');
  });

  it('finds no difference between a JSON value and its copy', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => firstDifference(value, stored(value)) === null),
    );
  });

  it('names a path whose values differ whenever one leaf of a value is changed', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ minLength: 1 }), fc.integer(), { minKeys: 1 }),
        fc.nat(),
        (value, pick) => {
          const keys = Object.keys(value);
          const key = keys[pick % keys.length] ?? '';
          const changed = { ...value, [key]: (value[key] ?? 0) + 1 };
          const found = firstDifference(value, changed);
          return found !== null && found.expected === value[key] && found.actual === changed[key];
        },
      ),
    );
  });
});
