import { LockgateError, parseDigest } from '@lockgate/core';
import type { Clock } from '../../clock.ts';
import type { Signals } from '../../signals.ts';
import type { Stores } from '../../stores.ts';
import { resignChannelIndex } from '../channels/channel-index.ts';
import type { SignedIndex, StoredChannel } from '../channels/channel-store.ts';
import { appendDecisions } from '../decisions/decision-log.ts';
import type { ServerKeyService } from '../server-keys/server-key-service.ts';
import type { StoredRevocation } from './revocation-store.ts';

export interface RevocationView {
  pack: string;
  reason: string;
  actor: string;
  revokedAt: string;
}

export interface RevocationService {
  /**
   * Revokes a stored pack everywhere: one decision record, and every channel index re-signed in
   * the same transaction (revoked packs are never desired). `created` is false when it was
   * already revoked (nothing changes then).
   */
  revoke(
    digest: string,
    reason: string,
    actor: string,
  ): Promise<{ revocation: RevocationView; created: boolean }>;
  list(): Promise<RevocationView[]>;
}

export function createRevocationService(deps: {
  stores: Stores;
  clock: Clock;
  keys: ServerKeyService;
  signals: Signals;
}): RevocationService {
  const { stores, clock, keys, signals } = deps;
  return {
    async revoke(digest, reason, actor) {
      const pack = parseDigest(digest);
      const key = await keys.indexKey();
      const now = clock();
      const at = now.toISOString();
      const result = await stores.transaction(async (tx) => {
        const stored = await tx.packs.findByDigest(pack);
        if (stored === null) {
          throw new LockgateError('PACK_NOT_FOUND', `No pack matches ${pack}.`, {
            details: { ref: pack },
          });
        }
        const existing = await tx.revocations.find(pack);
        if (existing !== null) return { revocation: existing, created: false, resigned: [] };
        // Lock every channel (in a fixed order) before changing what their indexes hold.
        const channels: StoredChannel[] = [];
        for (const channel of await tx.channels.list()) {
          const locked = await tx.channels.lock(channel.env, channel.name);
          if (locked !== null) channels.push(locked);
        }
        const revocation: StoredRevocation = { pack, reason, actor, revokedAt: at };
        await tx.revocations.insert(revocation);
        await appendDecisions(tx, [
          {
            release: null,
            env: null,
            channel: null,
            at,
            kind: 'revocation',
            rule: 'pack.revoked',
            actor,
            reason,
            from: null,
            to: null,
            stageIndex: null,
            inputs: {
              pack,
              name: stored.name,
              version: stored.version,
              sequence: stored.sequence,
              channels: channels.map((c) => `${c.env}/${c.name}`),
            },
            verdict: 'revoked',
            holder: null,
          },
        ]);
        const resigned: { channel: StoredChannel; index: SignedIndex }[] = [];
        for (const channel of channels) {
          resigned.push({ channel, index: await resignChannelIndex(tx, channel, now, key) });
        }
        return { revocation, created: true, resigned };
      });
      for (const { channel, index } of result.resigned) {
        signals.indexChanged(channel, index.version);
      }
      if (result.created) signals.wakeController();
      return { revocation: { ...result.revocation }, created: result.created };
    },

    async list() {
      return (await stores.revocations.list()).map((r) => ({ ...r }));
    },
  };
}
