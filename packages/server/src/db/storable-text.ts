/**
 * Text both databases store exactly as given. PostgreSQL refuses U+0000 in text and SQLite cuts
 * text at it; both store UTF-8, where an unpaired UTF-16 surrogate becomes U+FFFD. Either would
 * make a stored value differ from the one a digest covers (a decision record's `reason`).
 *
 * Invariants: `unstorableTextOf` finds those two and nothing else; the Kysely plugin refuses any
 * query carrying such a string (in values, lists or raw SQL) before it reaches the database,
 * with 400 `VALIDATION_FAILED`, so nothing is stored and no database error surfaces. The HTTP
 * layer refuses them earlier with the path of the field (`http/request-text.ts`).
 */
import { LockgateError } from '@lockgate/core';
import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';

/** String.prototype.isWellFormed (ES2024; Node ≥ 20), which the ES2023 lib does not declare. */
type WellFormedText = string & { isWellFormed(): boolean };

/** Why the database would not store `value` as given, or null when it would. */
export function unstorableTextOf(value: string): string | null {
  if (value.includes('\u0000')) return 'holds a NUL character (U+0000)';
  // not well formed = a high surrogate not followed by a low one, or a low one not preceded by a
  // high one (native, so the check of every bound string stays cheap)
  if (!(value as WellFormedText).isWellFormed()) return 'holds an unpaired UTF-16 surrogate';
  return null;
}

/** Refuses every query that carries a string the database would not store as given. */
export const storableTextPlugin: KyselyPlugin = {
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    const problem = findUnstorable(args.node);
    if (problem !== null) {
      throw new LockgateError(
        'VALIDATION_FAILED',
        `A text value ${problem}, which the database cannot store as given.`,
      );
    }
    return args.node;
  },
  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(args.result);
  },
};

function findUnstorable(root: unknown): string | null {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node === 'string') {
      const problem = unstorableTextOf(node);
      if (problem !== null) return problem;
    } else if (Array.isArray(node)) {
      for (const item of node) stack.push(item);
    } else if (typeof node === 'object' && node !== null && !ArrayBuffer.isView(node)) {
      for (const value of Object.values(node)) stack.push(value);
    }
  }
  return null;
}
