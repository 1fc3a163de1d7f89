/**
 * The digest a decision names its release context by (`inputs.context`), with the context's two
 * lists that grow with the fleet — the channel's targets and the stage's targets — held by their
 * own digests: the context's digest covers its *head* (the context with each list replaced by
 * `{ digest, length }`), and each list is content-addressed on its own. A decision on 100,000
 * targets then digests (and a store keeps) a head of a few kilobytes, and each list once per
 * change rather than once per decision.
 *
 *   listDigest(list)          = `sha256:` + hex sha256 of JCS (RFC 8785) bytes of the list
 *   releaseContextDigest(ctx) = `sha256:` + hex sha256 of JCS bytes of contextHead(ctx)
 *
 * Invariants:
 * - Pure: the same context gives the same head and digest. A list's digest is kept per array
 *   (by identity) once computed: a list handed to core is never changed in place afterwards
 *   (callers build a new array for new contents), so the kept digest stays the list's.
 * - Records decided before heads digested the whole context's JCS bytes; a context is named by
 *   either digest (`isContextNamed`: both commit to the same JSON through sha256).
 * - `joinContextHead` gives back the context only when every list it is handed hashes to the
 *   digest and length the head names.
 */
import { canonicalBytes } from '../canonical-json.ts';
import { digestOf, isDigest } from '../digest.ts';
import type { Digest } from '../digest.ts';
import type { ReleaseContext } from './release-state.ts';

/** A context list held by its digest. */
export interface ContextListRef {
  digest: Digest;
  length: number;
}

/** The lists of a release context held by digest in its head. */
export const CONTEXT_LISTS = ['targets', 'stageTargets'] as const;
export type ContextListName = (typeof CONTEXT_LISTS)[number];

/** A release context with its lists replaced by their digests: what its digest covers. */
export type ReleaseContextHead = Omit<ReleaseContext, ContextListName> &
  Record<ContextListName, ContextListRef>;

const listDigests = new WeakMap<readonly unknown[], Digest>();

/** The digest of a list's JCS bytes (kept per array: see the invariants). */
export function listDigest(list: readonly unknown[]): Digest {
  let digest = listDigests.get(list);
  if (digest === undefined) {
    digest = digestOf(canonicalBytes(list));
    listDigests.set(list, digest);
  }
  return digest;
}

/** The context with its lists held by digest. */
export function contextHead(context: ReleaseContext): ReleaseContextHead {
  return {
    ...context,
    targets: { digest: listDigest(context.targets), length: context.targets.length },
    stageTargets: {
      digest: listDigest(context.stageTargets),
      length: context.stageTargets.length,
    },
  };
}

/** The digest a decision names its release context by: the digest of its head. */
export function releaseContextDigest(context: ReleaseContext): Digest {
  return digestOf(canonicalBytes(contextHead(context)));
}

/** Whether a JSON value is a release context's head (its lists are held by digest). */
export function isContextHead(value: unknown): value is ReleaseContextHead {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const fields = value as Record<string, unknown>;
  return CONTEXT_LISTS.every((name) => isListRef(fields[name]));
}

/** Whether a JSON value has a release context's lists (so it has a head). */
export function hasContextLists(value: unknown): value is ReleaseContext {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const fields = value as Record<string, unknown>;
  return 'release' in fields && CONTEXT_LISTS.every((name) => Array.isArray(fields[name]));
}

function isListRef(value: unknown): value is ContextListRef {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const ref = value as Record<string, unknown>;
  return isDigest(ref['digest']) && Number.isSafeInteger(ref['length']);
}

/**
 * The context a head stands for, with `listOf` giving each list by its digest; null when a list
 * is missing or does not hash to the digest (or have the length) the head names.
 */
export function joinContextHead(
  head: ReleaseContextHead,
  listOf: (digest: Digest) => readonly unknown[] | null,
): ReleaseContext | null {
  const lists: Partial<Record<ContextListName, unknown[]>> = {};
  for (const name of CONTEXT_LISTS) {
    const ref = head[name];
    const list = listOf(ref.digest);
    if (list === null || list.length !== ref.length) return null;
    if (digestOf(canonicalBytes(list)) !== ref.digest) return null;
    lists[name] = list as unknown[];
  }
  return { ...head, ...lists } as unknown as ReleaseContext;
}

/**
 * Whether `digest` names this context: its head's digest for a release context, or the digest of
 * its whole JCS bytes (what records decided before heads name, and what channel calls are named
 * by).
 */
export function isContextNamed(context: unknown, digest: string): boolean {
  if (hasContextLists(context) && releaseContextDigest(context) === digest) return true;
  return digestOf(canonicalBytes(context)) === digest;
}
