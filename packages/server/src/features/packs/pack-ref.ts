import { LockgateError, parseDigest } from '@lockgate/core';
import type { PackStore, StoredPack } from './pack-store.ts';

/** The stored pack of a `sha256:<hex>` digest or a `name@version`; PACK_NOT_FOUND, DIGEST_INVALID. */
export async function findPackByRef(packs: PackStore, ref: string): Promise<StoredPack> {
  const at = ref.lastIndexOf('@');
  const stored =
    ref.startsWith('sha256:') || at <= 0 || at === ref.length - 1
      ? await packs.findByDigest(parseDigest(ref))
      : await packs.findByNameVersion(ref.slice(0, at), ref.slice(at + 1));
  if (stored === null) {
    throw new LockgateError('PACK_NOT_FOUND', `No pack matches ${ref}.`, { details: { ref } });
  }
  return stored;
}
