import { generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parsePrivateKey } from '@lockgate/core';
import type { Clock } from '../../clock.ts';
import type { ServerConfig } from '../../config.ts';
import type { StoresOf } from '../../stores.ts';
import { LOG_PUBLIC_KEY_FILE, LOG_VERIFIER_KEY_FILE, loadLogKey } from './log-key.ts';

/** The stores this module uses, and no others. */
type UsedStores = StoresOf<'serverKeys'>;

/** The use of the key that signs channel indexes. */
export const CHANNEL_INDEX_KEY_USE = 'channel-index';
/** DATA/index-signing.pub: the channel-index public key (SPKI PEM), written on every start. */
export const INDEX_PUBLIC_KEY_FILE = 'index-signing.pub';

export interface IndexSigningKey {
  keyId: string;
  privateKey: KeyObject;
  publicKeyPem: string;
}

export interface ServerKeyView {
  keyId: string;
  publicKeyPem: string;
  use: string;
}

export interface ServerKeyService {
  /**
   * The channel-index signing key: read from the database, or generated (Ed25519) and stored
   * on first use. Replicas of one database share it: a replica that loses the race to insert
   * reads the winner's key. Call it outside a transaction (it is cached after the first call).
   */
  indexKey(): Promise<IndexSigningKey>;
  /**
   * Makes sure the keys exist and writes their public halves: DATA/index-signing.pub, and for
   * the transparency log DATA/log-signing.pub and DATA/log-verifier-key.
   */
  bootstrap(): Promise<ServerKeyView>;
  /** The channel-index public keys, for agents and operators. */
  list(): Promise<ServerKeyView[]>;
}

export function createServerKeyService(deps: {
  config: Pick<ServerConfig, 'dataDir'>;
  stores: UsedStores;
  clock: Clock;
}): ServerKeyService {
  const { config, stores, clock } = deps;
  let cached: Promise<IndexSigningKey> | null = null;

  const load = async (): Promise<IndexSigningKey> => {
    let stored = await stores.serverKeys.findByUse(CHANNEL_INDEX_KEY_USE);
    if (stored === null) {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      const info = parsePrivateKey(privateKeyPem).publicKey;
      await stores.serverKeys.insert({
        keyId: info.keyId,
        use: CHANNEL_INDEX_KEY_USE,
        privateKeyPem,
        publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        createdAt: clock().toISOString(),
      });
      stored = await stores.serverKeys.findByUse(CHANNEL_INDEX_KEY_USE);
      if (stored === null) throw new Error('The channel-index key vanished after it was stored');
    }
    const { key, publicKey } = parsePrivateKey(stored.privateKeyPem);
    return { keyId: publicKey.keyId, privateKey: key, publicKeyPem: publicKey.publicKeyPem };
  };

  const indexKey = (): Promise<IndexSigningKey> => {
    cached ??= load().catch((error: unknown) => {
      cached = null;
      throw error;
    });
    return cached;
  };

  return {
    indexKey,

    async bootstrap() {
      const key = await indexKey();
      await writeFileAtomically(join(config.dataDir, INDEX_PUBLIC_KEY_FILE), key.publicKeyPem);
      const logKey = await loadLogKey(stores, clock().toISOString());
      await writeFileAtomically(join(config.dataDir, LOG_PUBLIC_KEY_FILE), logKey.publicKeyPem);
      await writeFileAtomically(
        join(config.dataDir, LOG_VERIFIER_KEY_FILE),
        `${logKey.verifierKey}\n`,
      );
      return { keyId: key.keyId, publicKeyPem: key.publicKeyPem, use: CHANNEL_INDEX_KEY_USE };
    },

    async list() {
      // Only channel-index keys: agents pin this list (`lockgate server keys --out`), and the
      // log key must never become a trusted index signer. The log key is at GET /log/key.
      const keys = await stores.serverKeys.list();
      return keys
        .filter((key) => key.use === CHANNEL_INDEX_KEY_USE)
        .map((key) => ({
          keyId: key.keyId,
          publicKeyPem: key.publicKeyPem,
          use: key.use,
        }));
    },
  };
}

/** Writes a public file atomically (temporary file, fsync, rename). */
async function writeFileAtomically(path: string, text: string): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const file = await open(temporary, 'wx', 0o644);
    try {
      await file.writeFile(text, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
