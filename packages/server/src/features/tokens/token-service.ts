import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../../clock.ts';
import type { ServerConfig } from '../../config.ts';
import type { Stores } from '../../stores.ts';
import type { ApiToken } from './token-store.ts';

export const ADMIN_TOKEN_FILE = 'admin-token';
export const ADMIN_TOKEN_NAME = 'admin';

/** Who made a request: the name of the token it carried. */
export interface Actor {
  name: string;
  tokenId: string;
  role: string;
}

export interface TokenService {
  /**
   * Makes sure an admin token exists. With no active token: stores the configured admin token,
   * or a generated one (returned as generatedAdminToken), and writes it to DATA/admin-token
   * (mode 0600). With tokens present: adds the configured admin token when it is new.
   */
  bootstrap(): Promise<{ generatedAdminToken: string | null }>;
  /** The actor of a bearer token, or null when the token is unknown or revoked. */
  authenticate(token: string): Promise<Actor | null>;
}

export function createTokenService(deps: {
  config: Pick<ServerConfig, 'adminToken' | 'dataDir'>;
  stores: Stores;
  clock: Clock;
}): TokenService {
  const { config, stores, clock } = deps;

  const storeAdminToken = async (token: string): Promise<boolean> => {
    const record: ApiToken = {
      id: `tok_${randomUUID()}`,
      name: ADMIN_TOKEN_NAME,
      tokenHash: hashToken(token),
      role: 'admin',
      createdAt: clock().toISOString(),
      revokedAt: null,
    };
    const inserted = await stores.tokens.insert(record);
    if (inserted) await writeSecretFile(join(config.dataDir, ADMIN_TOKEN_FILE), token);
    return inserted;
  };

  return {
    async bootstrap() {
      if ((await stores.tokens.countActive()) === 0) {
        const token = config.adminToken ?? randomBytes(32).toString('base64url');
        await storeAdminToken(token);
        return { generatedAdminToken: config.adminToken === null ? token : null };
      }
      if (config.adminToken !== null) await storeAdminToken(config.adminToken);
      return { generatedAdminToken: null };
    },

    async authenticate(token) {
      if (token === '') return null;
      const stored = await stores.tokens.findActiveByHash(hashToken(token));
      // Fail closed on roles this version does not know.
      if (stored === null || stored.role !== 'admin') return null;
      return { name: stored.name, tokenId: stored.id, role: stored.role };
    },
  };
}

/** Tokens are stored as the hex sha256 of their text. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Writes a file readable by the owner only, atomically (temporary file, fsync, rename). */
async function writeSecretFile(path: string, text: string): Promise<void> {
  const directory = join(path, '..');
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const file = await open(temporary, 'wx', 0o600);
    try {
      await file.chmod(0o600);
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
