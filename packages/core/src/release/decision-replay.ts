/**
 * Replay of recorded release decisions, one call at a time: `replayCall` runs `decide` (a
 * controller tick) or `applyCommand` (an operator command) again on the stored context and time,
 * and `firstDifference` names the first field where a recorded draft and its replay differ.
 *
 * Invariants: pure; `commandOfDraft` rebuilds exactly the command a `command.<kind>` draft was
 * decided from (kind, actor, reason, and `full` for promote: the handlers read nothing else of
 * it), so the replay of an untouched record gives the same draft digest; `firstDifference(a, a)`
 * is null for every JSON value, and otherwise the path it returns reaches a leaf (or a missing
 * key or element) where the two differ, in the recorded draft's field order.
 */
import type { Instant } from './instant.ts';
import { decide } from './decide.ts';
import { applyCommand } from './release-commands.ts';
import { COMMAND_KINDS } from './release-state.ts';
import type {
  CommandKind,
  DecisionDraft,
  ReleaseCommand,
  ReleaseContext,
} from './release-state.ts';

/** One recorded call of core: the context and time it decided on, and the command if any. */
export interface ReplayCall {
  context: ReleaseContext;
  now: Instant;
  /** null for the controller's `decide` */
  command: ReleaseCommand | null;
}

/** The drafts the current core returns for a recorded call (throws what core throws). */
export function replayCall(call: ReplayCall): DecisionDraft[] {
  const { context, now, command } = call;
  const result =
    command === null ? decide(context, now) : applyCommand(context.release, command, context, now);
  return result.decisions;
}

const COMMAND_RULE = 'command.';

/** The operator command a `command.<kind>` draft came from; null for the controller's drafts. */
export function commandOfDraft(draft: DecisionDraft): ReleaseCommand | null {
  if (!draft.rule.startsWith(COMMAND_RULE)) return null;
  const kind = draft.rule.slice(COMMAND_RULE.length) as CommandKind;
  if (!COMMAND_KINDS.includes(kind)) return null;
  return {
    kind,
    actor: draft.actor,
    reason: draft.reason ?? '',
    ...(kind === 'promote' && draft.inputs['full'] === true ? { full: true } : {}),
  };
}

/** Where two values first differ: the path (`inputs.gates[0].threshold`) and both values. */
export interface FieldDifference {
  path: string;
  /** undefined when the recorded value has no such field */
  expected: unknown;
  /** undefined when the replayed value has no such field */
  actual: unknown;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function keyPath(base: string, key: string): string {
  if (IDENTIFIER.test(key)) return base === '' ? key : `${base}.${key}`;
  return `${base}[${JSON.stringify(key)}]`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function walk(
  expected: unknown,
  actual: unknown,
  path: string,
  skip: ReadonlySet<string>,
): FieldDifference | null {
  if (skip.has(path)) return null;
  if (Array.isArray(expected) && Array.isArray(actual)) {
    const length = Math.max(expected.length, actual.length);
    for (let i = 0; i < length; i += 1) {
      const found = walk(expected[i], actual[i], `${path}[${i}]`, skip);
      if (found !== null) return found;
    }
    return null;
  }
  if (isRecord(expected) && isRecord(actual)) {
    const keys = [
      ...Object.keys(expected),
      ...Object.keys(actual).filter((key) => !Object.hasOwn(expected, key)),
    ];
    for (const key of keys) {
      const found = walk(expected[key], actual[key], keyPath(path, key), skip);
      if (found !== null) return found;
    }
    return null;
  }
  if (expected === actual) return null;
  return { path: path === '' ? '(value)' : path, expected, actual };
}

/**
 * The first field where two JSON values differ, or null when they are equal as JSON. Paths in
 * `lookPast` (e.g. `inputs.context`, the digest of the context: it differs whenever
 * anything in the context does) are reported only when nothing else differs.
 */
export function firstDifference(
  expected: unknown,
  actual: unknown,
  options: { lookPast?: readonly string[] } = {},
): FieldDifference | null {
  const past = new Set(options.lookPast ?? []);
  return (
    walk(expected, actual, '', past) ??
    (past.size === 0 ? null : walk(expected, actual, '', new Set()))
  );
}
