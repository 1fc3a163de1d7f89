/**
 * Decision records: the digest of a decision draft and the replay of a recorded decision.
 *
 * decisionDigest(draft) = `sha256:` + hex sha256 of the JCS (RFC 8785) bytes of the draft.
 * Because `decide` and `applyCommand` are pure, replaying = running them again on the recorded
 * context, `now` (and command) and comparing the digests of the drafts they return.
 */
import { canonicalBytes } from '../canonical-json.ts';
import { digestOf } from '../digest.ts';
import type { Digest } from '../digest.ts';
import { decide } from './decide.ts';
import { applyCommand } from './release-commands.ts';
import type { Instant } from './instant.ts';
import type { DecisionDraft, ReleaseCommand, ReleaseContext } from './release-state.ts';

export function decisionDigest(draft: DecisionDraft): Digest {
  return digestOf(canonicalBytes(draft));
}

export interface RecordedDecision {
  context: ReleaseContext;
  now: Instant;
  /** set when the decision came from an operator command rather than the controller */
  command?: ReleaseCommand;
  /** the digests recorded, in order */
  decisionDigests: readonly string[];
}

export interface ReplayResult {
  ok: boolean;
  expected: string[];
  actual: string[];
}

/** Runs the recorded decision again and compares the decision digests, in order. */
export function replayDecision(recorded: RecordedDecision): ReplayResult {
  const { context, now, command } = recorded;
  const result =
    command === undefined
      ? decide(context, now)
      : applyCommand(context.release, command, context, now);
  const actual = result.decisions.map(decisionDigest);
  const expected = [...recorded.decisionDigests];
  const ok =
    actual.length === expected.length && actual.every((digest, i) => digest === expected[i]);
  return { ok, expected, actual };
}
