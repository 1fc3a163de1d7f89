/**
 * The rollback target of a scope: the pin's pack when pinned and not revoked, else the LKG when
 * not revoked, else null (nothing safe to return to). A function of these three inputs alone, so
 * the server, the agent and a replay all get the same answer; it never returns a revoked pack.
 * Floor checks (below-floor rollback needs a rollback authorization) are `planRollback`'s.
 */
import { packRefusal } from '../channel/pack-refusal.ts';
import type { ChannelRules } from '../channel/pack-refusal.ts';
import type { Instant } from './instant.ts';
import { channelPin } from './pin.ts';
import type { Pin, RollbackAuthorization } from './pin.ts';

export interface RollbackInputs {
  /** the pack of the pin in effect on the scope, or null */
  pin: string | null;
  lkg: string | null;
  revoked: readonly string[];
}

export function rollbackTarget({ pin, lkg, revoked }: RollbackInputs): string | null {
  if (pin !== null && !revoked.includes(pin)) return pin;
  if (lkg !== null && !revoked.includes(lkg)) return lkg;
  return null;
}

/** What an operator can do when no rollback target is allowed. */
export const ALLOW_HINT =
  'authorize a rollback to one of them (lockgate rollback-auth add) or pin a pack the channel allows';

/** The facts about a channel a rollback decision reads. */
export interface RollbackChannel {
  pins: readonly Pin[];
  lkg: string | null;
  base: string | null;
  floor: number | null;
  revoked: readonly string[];
  rollbackAuthorizations: readonly RollbackAuthorization[];
  /** the sequence of every pack the channel names (base, LKG, pins); an unknown pack is refused */
  packs: Readonly<Record<string, { sequence: number }>>;
}

export interface RollbackPlan {
  /**
   * The pack the channel returns to (it becomes the base); null: the rollout is cleared and the
   * base stays (the base is allowed, or the channel never had one).
   */
  to: string | null;
  /** set when no pack the channel allows is left to return to: why, and what would allow one */
  blocked: string | null;
  /** why each candidate (pin, LKG, base) that was passed over is not allowed */
  refused: string[];
  inputs: Record<string, unknown>;
}

/**
 * Why the channel may not run `pack` now, or null when it may: the first refusal of the channel
 * rule (`packRefusals`: revoked, unknown, or below the floor without an unexpired rollback
 * authorization), which `desiredPack` applies to the index too, so a rollback target chosen here
 * is one every target will accept from the index. Constraints are not re-checked: a rollback
 * target met them when it was released or pinned.
 */
function channelRefusal(channel: RollbackChannel, pack: string, now: Instant): string | null {
  const sequence = channel.packs[pack]?.sequence ?? null;
  return packRefusal(channelRulesOf(channel), { digest: pack, sequence }, now)?.message ?? null;
}

function channelRulesOf(channel: RollbackChannel): ChannelRules {
  return {
    floor: channel.floor,
    constraints: {},
    revoked: channel.revoked,
    rollbackAuthorizations: channel.rollbackAuthorizations,
  };
}

/**
 * Where a rollback of the release of `releasePack` lands, decided before anything changes:
 * the channel-wide pin's pack, else the LKG (`rollbackTarget`'s order), each only when the
 * channel allows it now (`channelRefusal`); when neither exists or is allowed, the rollout is
 * cleared and targets go back to the base, when the base is allowed. When nothing allowed is left
 * (a base that is revoked or below the floor), `blocked` says why and what would allow one: the
 * caller refuses (operator) or holds the release (controller); it never records a rollback that
 * leaves targets without a valid pack. A channel that never had a base goes back to having none.
 */
export function planRollback(
  channel: RollbackChannel,
  releasePack: string,
  now: Instant,
): RollbackPlan {
  const pin = channelPin(channel.pins, now)?.pack ?? null;
  const inputs: Record<string, unknown> = {
    pin,
    lkg: channel.lkg,
    revoked: [...channel.revoked].sort(),
  };
  const refused: string[] = [];
  for (const [role, pack] of [
    ['pin', pin],
    ['LKG', channel.lkg],
  ] as const) {
    if (pack === null || pack === releasePack) continue;
    const why = channelRefusal(channel, pack, now);
    if (why === null) {
      return { to: pack, blocked: null, refused, inputs: { ...inputs, to: pack } };
    }
    refused.push(`the ${role} ${why}`);
  }
  const { base } = channel;
  const baseRefusal =
    base === null || base === releasePack ? null : channelRefusal(channel, base, now);
  if (baseRefusal === null) {
    const seen = refused.length === 0 ? {} : { refused };
    return { to: null, blocked: null, refused, inputs: { ...inputs, to: null, ...seen } };
  }
  refused.push(`the base ${baseRefusal}`);
  const blocked = `no pack the channel allows is left to roll back to (${refused.join('; ')}); ${ALLOW_HINT}`;
  const facts = { base, floor: channel.floor, refused, blocked };
  return { to: null, blocked, refused, inputs: { ...inputs, to: null, ...facts } };
}
