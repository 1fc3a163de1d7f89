/**
 * Replays every decision of a release on the current core: the release's records in log order
 * and the contexts they name, given to core `replayRecords` (the code the offline bundle verifier
 * runs too; the rules are in its header: which records are re-run, how they group into calls,
 * how a mismatch is named).
 *
 * Invariants: reads only (the decision log and the stored contexts); each context is read once;
 * a context whose stored bytes no longer hash to their digest is replayed as stored and marked
 * `contextIntact: false` on its mismatches.
 */
import { replayCallsOf, replayRecords } from '@lockgate/core';
import type { ReplayContext } from '@lockgate/core';
import type { StoresOf } from '../../stores.ts';
import type { ReplayResult } from './replay-store.ts';

/** The most records of one release a replay reads. */
export const REPLAY_RECORD_LIMIT = 100_000;

/** Replays every decision of the release (see the file header) and counts the figures. */
export async function replayRelease(
  stores: StoresOf<'decisions' | 'contexts'>,
  release: string,
): Promise<ReplayResult> {
  const records = await stores.decisions.list({ release, limit: REPLAY_RECORD_LIMIT });
  const contexts = new Map<string, ReplayContext | null>();
  for (const call of replayCallsOf(records).calls) {
    if (contexts.has(call.context)) continue;
    const stored = await stores.contexts.get(call.context);
    contexts.set(
      call.context,
      stored === null ? null : { context: stored.context, intact: stored.intact },
    );
  }
  const figures = replayRecords(records, (digest) => contexts.get(digest) ?? null);
  return { ...figures, error: null };
}
