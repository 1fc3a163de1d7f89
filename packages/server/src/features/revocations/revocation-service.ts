import { LockgateError, parseDigest } from '@lockgate/core';
import type { Clock } from '../../clock.ts';
import type { Signals } from '../../signals.ts';
import type { StoresOf } from '../../stores.ts';
import { commitPackRevocation } from '../decisions/public.ts';
import type { ServerKeyService } from '../server-keys/public.ts';

/** The stores this module uses, and no others. */
type UsedStores = StoresOf<
  | 'channels'
  | 'contexts'
  | 'decisions'
  | 'environments'
  | 'log'
  | 'packs'
  | 'revocations'
  | 'serverKeys'
  | 'webhooks'
  | 'statements'
>;

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
  stores: UsedStores;
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
      const result = await stores.transaction(async (tx) => {
        const stored = await tx.packs.findByDigest(pack);
        if (stored === null) {
          throw new LockgateError('PACK_NOT_FOUND', `No pack matches ${pack}.`, {
            details: { ref: pack },
          });
        }
        const existing = await tx.revocations.find(pack);
        if (existing !== null) return { revocation: existing, created: false, resigned: [] };
        const committed = await commitPackRevocation(
          tx,
          { pack: stored, reason, actor },
          { now, key },
        );
        return { revocation: committed.revocation, created: true, resigned: committed.changed };
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
