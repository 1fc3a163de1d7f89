import { LockgateError, parsePublicKey } from '@lockgate/core';
import type { Clock } from '../../clock.ts';
import type { StoresOf } from '../../stores.ts';
import type { TrustedKey } from './trust-store.ts';

/** The stores this module uses, and no others. */
type UsedStores = StoresOf<'trust'>;

/** A trusted build key as the API shows it. */
export interface TrustedKeyView {
  keyId: string;
  name: string;
  publicKeyPem: string;
  addedAt: string;
}

export interface AddTrustedKeyInput {
  publicKeyPem: string;
  name?: string;
}

export interface TrustService {
  /** Trusts an Ed25519 public key (KEY_INVALID otherwise); `created` is false when already trusted. */
  add(input: AddTrustedKeyInput, actor: string): Promise<{ key: TrustedKeyView; created: boolean }>;
  list(): Promise<TrustedKeyView[]>;
  /** Stops trusting a key; KEY_NOT_FOUND when it was not trusted. */
  remove(keyId: string): Promise<TrustedKeyView>;
}

export function createTrustService(deps: { stores: UsedStores; clock: Clock }): TrustService {
  const { stores, clock } = deps;
  return {
    async add(input, actor) {
      const info = parsePublicKey(input.publicKeyPem);
      const existing = await stores.trust.find(info.keyId);
      if (existing !== null) return { key: toView(existing), created: false };
      const key: TrustedKey = {
        keyId: info.keyId,
        name: input.name ?? defaultKeyName(info.keyId),
        publicKeyPem: info.publicKeyPem,
        addedAt: clock().toISOString(),
        addedBy: actor,
      };
      if (await stores.trust.insert(key)) return { key: toView(key), created: true };
      // Added concurrently by another request: answer with what is stored.
      const stored = await stores.trust.find(info.keyId);
      if (stored === null) throw new Error(`Trusted key ${info.keyId} vanished during insert`);
      return { key: toView(stored), created: false };
    },

    async list() {
      return (await stores.trust.list()).map(toView);
    },

    async remove(keyId) {
      const removed = await stores.trust.delete(keyId);
      if (removed === null) {
        throw new LockgateError('KEY_NOT_FOUND', `No trusted key has id ${keyId}.`, {
          details: { keyId },
        });
      }
      return toView(removed);
    },
  };
}

function defaultKeyName(keyId: string): string {
  return `key-${keyId.slice(0, 12)}`;
}

function toView(key: TrustedKey): TrustedKeyView {
  return { keyId: key.keyId, name: key.name, publicKeyPem: key.publicKeyPem, addedAt: key.addedAt };
}
