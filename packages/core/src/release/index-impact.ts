/**
 * The impact of replacing a channel index with another, target by target: for each target of
 * the channel, `desiredPack` on the current index and on the proposed one, grouped by
 * (from, to). A rollback preview is this function on the index a rollback (or a pin) would sign,
 * so what the preview says moves is exactly what the agents will compute.
 *
 * Invariants: pure (the only time is `now`, for pin and authorization expiry); every target is
 * counted once, in a move when its desired pack changes and in a stay otherwise, so the counts
 * of `moves` and `stays` add up to `targets`; the same inputs give the same groups in the same
 * order (most targets first, then by pack digest), each with up to `sampleSize` target ids in id
 * order.
 */
import type { ChannelIndexPayload } from './channel-index.ts';
import { desiredPack } from './desired-pack.ts';
import type { Instant } from './instant.ts';
import type { TargetRef } from './selector.ts';

/** Targets whose desired pack changes from `from` to `to` (null: no pack the index allows). */
export interface PackMove {
  from: string | null;
  to: string | null;
  targets: number;
  sample: string[];
}

/** Targets whose desired pack stays `pack`. */
export interface PackStay {
  pack: string | null;
  targets: number;
  sample: string[];
}

export interface IndexImpact {
  targets: number;
  moves: PackMove[];
  stays: PackStay[];
}

export const IMPACT_SAMPLE_SIZE = 5;

export function indexImpact(
  current: ChannelIndexPayload,
  proposed: ChannelIndexPayload,
  targets: readonly TargetRef[],
  now: Instant,
  sampleSize = IMPACT_SAMPLE_SIZE,
): IndexImpact {
  const groups = new Map<string, { from: string | null; to: string | null; ids: string[] }>();
  for (const target of targets) {
    const from = desiredPack(current, target, now).pack;
    const to = desiredPack(proposed, target, now).pack;
    const key = `${from ?? ''}>${to ?? ''}`;
    let group = groups.get(key);
    if (group === undefined) {
      group = { from, to, ids: [] };
      groups.set(key, group);
    }
    group.ids.push(target.id);
  }
  const ordered = [...groups.values()].sort(
    (a, b) => b.ids.length - a.ids.length || compare(a.from, b.from) || compare(a.to, b.to),
  );
  const sample = (ids: string[]): string[] =>
    [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).slice(0, sampleSize);
  const moves: PackMove[] = [];
  const stays: PackStay[] = [];
  for (const group of ordered) {
    if (group.from === group.to) {
      stays.push({ pack: group.from, targets: group.ids.length, sample: sample(group.ids) });
    } else {
      moves.push({
        from: group.from,
        to: group.to,
        targets: group.ids.length,
        sample: sample(group.ids),
      });
    }
  }
  return { targets: targets.length, moves, stays };
}

function compare(a: string | null, b: string | null): number {
  const x = a ?? '';
  const y = b ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}
