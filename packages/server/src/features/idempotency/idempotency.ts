import { canonicalJson, LockgateError, sha256Hex } from '@lockgate/core';
import type { StoreMap, StoresOf } from '../../stores.ts';

/** How long an idempotency key answers with its first response. */
export const IDEMPOTENCY_RETENTION_SECONDS = 24 * 3600;

/** An `Idempotency-Key` with who sent it, what it asked and with which body. */
export interface IdempotencyRequest {
  key: string;
  actor: string;
  /** the operation, e.g. 'release.create' or 'release.pause:rel_…' */
  scope: string;
  body: unknown;
}

export interface IdempotentOutcome<R, E> {
  response: R;
  /** what the caller does after the commit; null when the first answer was replayed */
  effects: E | null;
  replayed: boolean;
}

/**
 * Runs `fn` in a transaction, once per (actor, key). The key is claimed inside the same
 * transaction before anything is changed, and the response stored with it: a repeat with the same
 * scope and body gets the first response and changes nothing; the same key for another request
 * is CONFLICT. A concurrent repeat waits for the first to commit (PostgreSQL: on the key's unique
 * index; SQLite: transactions are serial) and then replays it. A failed request stores nothing.
 */
export async function runIdempotent<R, E, K extends keyof StoreMap>(
  stores: StoresOf<K | 'idempotency'>,
  request: IdempotencyRequest | null,
  now: Date,
  fn: (tx: StoresOf<K | 'idempotency'>) => Promise<{ response: R; effects: E }>,
): Promise<IdempotentOutcome<R, E>> {
  if (request === null) {
    const { response, effects } = await stores.transaction(fn);
    return { response, effects, replayed: false };
  }
  const requestHash = sha256Hex(canonicalJson({ scope: request.scope, body: request.body }));
  const replay = async (tx: StoresOf<'idempotency'>): Promise<IdempotentOutcome<R, E> | null> => {
    const prior = await tx.idempotency.find(request.actor, request.key);
    if (prior === null) return null;
    if (prior.requestHash !== requestHash) {
      throw new LockgateError(
        'CONFLICT',
        'This Idempotency-Key was already used for another request.',
        { details: { idempotencyKey: request.key, scope: prior.scope } },
      );
    }
    return { response: JSON.parse(prior.responseJson) as R, effects: null, replayed: true };
  };
  try {
    return await stores.transaction(async (tx) => {
      const prior = await replay(tx);
      if (prior !== null) return prior;
      await tx.idempotency.insert({
        actor: request.actor,
        key: request.key,
        scope: request.scope,
        requestHash,
        responseJson: 'null',
        createdAt: now.toISOString(),
      });
      const { response, effects } = await fn(tx);
      await tx.idempotency.setResponse(request.actor, request.key, JSON.stringify(response));
      return { response, effects, replayed: false };
    });
  } catch (error) {
    // A concurrent request with the same key may have committed first: answer as it did.
    const prior = await replay(stores).catch(() => null);
    if (prior !== null) return prior;
    throw error;
  }
}
