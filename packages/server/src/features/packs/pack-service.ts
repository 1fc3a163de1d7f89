import type { Readable } from 'node:stream';
import {
  assertEligible,
  canonicalJson,
  LockgateError,
  parseDigest,
  parsePublicKey,
  verifyPackArchive,
} from '@lockgate/core';
import type { BuildRecord, Digest, PackManifest } from '@lockgate/core';
import type { BlobStore, ByteRange } from '../../blob-store.ts';
import type { Clock } from '../../clock.ts';
import { createKeyedMutex } from '../../keyed-mutex.ts';
import type { StoresOf } from '../../stores.ts';
import { buildRecordFromProvenance } from '../builds/public.ts';
import type { StoredPack } from './pack-store.ts';

/** The stores this module uses, and no others. */
type UsedStores = StoresOf<'builds' | 'packs' | 'trust'>;

/** A stored pack as the API lists it. */
export interface PackSummary {
  digest: string;
  name: string;
  version: string;
  sequence: number;
  /** bytes of the stored pack file */
  size: number;
  buildId: string;
  /** provenance.createdAt */
  createdAt: string;
  /** when the server stored it */
  pushedAt: string;
}

export interface PackService {
  /**
   * Reads, verifies and stores a pack file. `created` is false when the same digest was
   * already stored. Refusals throw a LockgateError and leave nothing stored.
   */
  push(bytes: Uint8Array, actor: string): Promise<{ pack: PackSummary; created: boolean }>;
  /** Newest push first. */
  list(query: { name?: string; limit: number }): Promise<PackSummary[]>;
  /** ref = `sha256:<hex>` or `name@version`; PACK_NOT_FOUND, DIGEST_INVALID. */
  manifest(ref: string): Promise<{ pack: PackSummary; manifest: PackManifest }>;
  /** PACK_NOT_FOUND, DIGEST_INVALID. */
  get(digest: string): Promise<PackSummary>;
  /** The stored pack file, whole or an inclusive byte range of it. */
  openFile(digest: string, range?: ByteRange): Promise<Readable>;
}

export function createPackService(deps: {
  stores: UsedStores;
  blobs: BlobStore;
  clock: Clock;
}): PackService {
  const { stores, blobs, clock } = deps;
  const writes = createKeyedMutex();

  const findOrThrow = async (digest: Digest): Promise<StoredPack> => {
    const stored = await stores.packs.findByDigest(digest);
    if (stored === null) throw packNotFound(digest);
    return stored;
  };

  const resolveRef = async (ref: string): Promise<StoredPack> => {
    const at = ref.lastIndexOf('@');
    if (ref.startsWith('sha256:') || at <= 0 || at === ref.length - 1) {
      return findOrThrow(parseDigest(ref));
    }
    const stored = await stores.packs.findByNameVersion(ref.slice(0, at), ref.slice(at + 1));
    if (stored === null) throw packNotFound(ref);
    return stored;
  };

  return {
    async push(bytes, actor) {
      const trustedKeys = (await stores.trust.list()).map((key) =>
        parsePublicKey(key.publicKeyPem),
      );
      // The same check as `lockgate pack verify`, streamed: the inflated pack is never held.
      const { manifest, digest } = await verifyPackArchive(bytes, { trustedKeys });

      const already = await stores.packs.findByDigest(digest);
      if (already !== null) return { pack: toSummary(already), created: false };
      // Refuse before writing anything; the transaction checks again against concurrent writes.
      await checkAdmissible(stores, manifest, digest);

      const pack: StoredPack = {
        digest,
        name: manifest.name,
        version: manifest.version,
        sequence: manifest.sequence,
        buildId: manifest.provenance.buildId,
        manifestJson: canonicalJson(manifest),
        size: bytes.byteLength,
        createdAt: manifest.provenance.createdAt,
        pushedAt: clock().toISOString(),
        pushedBy: actor,
      };
      const blobKey = digest.slice('sha256:'.length);
      // One writer per digest in this process, so a failed push never removes the file that
      // a concurrent push of the same pack is about to commit.
      return writes.run(blobKey, async () => {
        const { created: blobCreated } = await blobs.put(blobKey, bytes);
        try {
          return await stores.transaction(async (tx) => {
            const stored = await tx.packs.findByDigest(digest);
            if (stored !== null) return { pack: toSummary(stored), created: false };
            const build = await checkAdmissible(tx, manifest, digest);
            if (build === null) {
              const record = buildRecordFromProvenance(manifest.provenance, digest, pack.pushedAt);
              await tx.builds.insert({ record, reportedBy: actor });
            } else if (build.packDigest === null) {
              await tx.builds.linkPack(build.id, digest);
            }
            if (!(await tx.packs.insert(pack))) {
              // Lost a race with a concurrent push: same digest is idempotent, else a conflict.
              const winner = await tx.packs.findByDigest(digest);
              if (winner !== null) return { pack: toSummary(winner), created: false };
              await checkAdmissible(tx, manifest, digest);
              throw new Error(`Pack ${digest} was neither inserted nor found`);
            }
            return { pack: toSummary(pack), created: true };
          });
        } catch (error) {
          // Remove the file this push wrote unless a committed row now refers to it.
          if (blobCreated && !(await isReferenced(stores, digest))) await blobs.delete(blobKey);
          throw error;
        }
      });
    },

    async list(query) {
      return (await stores.packs.list(query)).map(toSummary);
    },

    async manifest(ref) {
      const stored = await resolveRef(ref);
      return { pack: toSummary(stored), manifest: JSON.parse(stored.manifestJson) as PackManifest };
    },

    async get(digest) {
      return toSummary(await findOrThrow(parseDigest(digest)));
    },

    async openFile(digest, range) {
      const stored = await findOrThrow(parseDigest(digest));
      const key = stored.digest.slice('sha256:'.length);
      if ((await blobs.size(key)) === null) {
        throw new Error(`The file of stored pack ${stored.digest} is missing from the blob store`);
      }
      return blobs.read(key, range);
    },
  };
}

/**
 * Throws when the verified pack may not be stored: not eligible against the build record of
 * its provenance (the manifest alone was checked by verifyPackArchive), its build already produced another pack, or its name@version is taken.
 * Returns the build record (null when none was reported).
 */
async function checkAdmissible(
  stores: UsedStores,
  manifest: PackManifest,
  digest: Digest,
): Promise<BuildRecord | null> {
  const buildId = manifest.provenance.buildId;
  const build = (await stores.builds.find(buildId))?.record ?? null;
  assertEligible({ manifest, build }, digest);
  if (build !== null && build.packDigest !== null && build.packDigest !== digest) {
    throw new LockgateError(
      'BUILD_CONFLICT',
      `Build ${buildId} already produced pack ${build.packDigest}, not ${digest}.`,
      { details: { buildId, packDigest: build.packDigest, digest } },
    );
  }
  const clash = await stores.packs.findByNameVersion(manifest.name, manifest.version);
  if (clash !== null && clash.digest !== digest) {
    throw new LockgateError(
      'PACK_VERSION_CONFLICT',
      `Pack ${manifest.name}@${manifest.version} is already stored with digest ${clash.digest}.`,
      { details: { name: manifest.name, version: manifest.version, digest: clash.digest } },
    );
  }
  return build;
}

/** True unless the database says no row refers to the digest (on doubt, keep the file). */
async function isReferenced(stores: UsedStores, digest: Digest): Promise<boolean> {
  try {
    return (await stores.packs.findByDigest(digest)) !== null;
  } catch {
    return true;
  }
}

function packNotFound(ref: string): LockgateError {
  return new LockgateError('PACK_NOT_FOUND', `No pack matches ${ref}.`, { details: { ref } });
}

function toSummary(pack: StoredPack): PackSummary {
  return {
    digest: pack.digest,
    name: pack.name,
    version: pack.version,
    sequence: pack.sequence,
    size: pack.size,
    buildId: pack.buildId,
    createdAt: pack.createdAt,
    pushedAt: pack.pushedAt,
  };
}
