/**
 * Rollback authorizations of a channel: at most one unexpired authorization per pack.
 *
 * Granting one for a pack that already has an unexpired authorization in the channel never adds
 * a second row (and so never a second entry in the signed index):
 * - the existing one lasts at least as long → it is returned unchanged ('unchanged'; nothing to
 *   record, nothing to re-sign);
 * - it expires sooner → its expiry moves to the later time, with the new reason and actor, under
 *   the same id ('extended');
 * - there is none → a new one is stored ('granted').
 * Expired authorizations stay in the store as history; they never reach the index.
 */
import { randomUUID } from 'node:crypto';
import { isUnexpired } from '@lockgate/core';
import type { Stores } from '../../stores.ts';
import type { StoredRollbackAuthorization } from './channel-store.ts';

export type GrantOutcome = 'granted' | 'extended' | 'unchanged';

export interface RollbackAuthorizationGrant {
  authorization: StoredRollbackAuthorization;
  outcome: GrantOutcome;
  /** the expiry before an extension; null otherwise */
  previousExpiresAt: string | null;
}

export interface GrantInput {
  env: string;
  channel: string;
  pack: string;
  reason: string;
  actor: string;
  expiresAt: string;
}

/** The channel's unexpired authorizations at `now`, oldest first. */
export async function activeRollbackAuthorizations(
  tx: Pick<Stores, 'channels'>,
  env: string,
  channel: string,
  now: Date,
): Promise<StoredRollbackAuthorization[]> {
  const all = await tx.channels.listRollbackAuthorizations(env, channel);
  return all.filter((a) => isUnexpired(a.expiresAt, now));
}

/** Grants, extends or keeps the channel's authorization for the pack (see the file header). */
export async function grantRollbackAuthorization(
  tx: Pick<Stores, 'channels'>,
  input: GrantInput,
  now: Date,
): Promise<RollbackAuthorizationGrant> {
  const same = (await activeRollbackAuthorizations(tx, input.env, input.channel, now))
    .filter((a) => a.pack === input.pack)
    .sort((a, b) => Date.parse(b.expiresAt) - Date.parse(a.expiresAt));
  const existing = same[0];
  if (existing !== undefined) {
    if (Date.parse(existing.expiresAt) >= Date.parse(input.expiresAt)) {
      return { authorization: existing, outcome: 'unchanged', previousExpiresAt: null };
    }
    const extended: StoredRollbackAuthorization = {
      ...existing,
      reason: input.reason,
      actor: input.actor,
      expiresAt: input.expiresAt,
    };
    await tx.channels.updateRollbackAuthorization(extended);
    return { authorization: extended, outcome: 'extended', previousExpiresAt: existing.expiresAt };
  }
  const authorization: StoredRollbackAuthorization = {
    id: `rba_${randomUUID()}`,
    env: input.env,
    channel: input.channel,
    pack: input.pack,
    reason: input.reason,
    actor: input.actor,
    createdAt: now.toISOString(),
    expiresAt: input.expiresAt,
  };
  await tx.channels.insertRollbackAuthorization(authorization);
  return { authorization, outcome: 'granted', previousExpiresAt: null };
}
