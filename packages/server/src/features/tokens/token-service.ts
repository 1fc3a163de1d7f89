import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TOKEN_ROLES } from '@lockgate/api';
import type { TokenRole } from '@lockgate/api';
import { LockgateError } from '@lockgate/core';
import type { Clock } from '../../clock.ts';
import type { ServerConfig } from '../../config.ts';
import type { StoresOf } from '../../stores.ts';
import { CHANGE_FEED_SAFETY_POLL_MS, watchChanges } from '../../change-feed.ts';
import type { ChangeFeed, ChangeWatch } from '../../change-feed.ts';
import { CHANGE_POLL_SKEW_MS, createChangePoll } from '../../change-poll.ts';
import { recordDecisions } from '../decisions/public.ts';
import type { DecisionRecordDraft } from '../decisions/public.ts';
import { checkTokenScope, NO_SCOPE } from './token-scope.ts';
import type { TokenScope } from './token-scope.ts';
import type { ApiToken } from './token-store.ts';

/** The stores this module uses, and no others. */
type UsedStores = StoresOf<
  'contexts' | 'decisions' | 'log' | 'serverKeys' | 'tokens' | 'webhooks' | 'statements'
>;

export const ADMIN_TOKEN_FILE = 'admin-token';
export const ADMIN_TOKEN_NAME = 'admin';
export const DEFAULT_TOKEN_CACHE_MAX_AGE_MS = 1000;
const MAX_CACHED_TOKENS = 200_000;
/** How long a revoke waits for its own notification before answering anyway. */
const REVOCATION_ECHO_TIMEOUT_MS = 2000;

/**
 * What a token may do: `admin` everything; `operator` everything but managing tokens; `viewer`
 * every read an operator may make and nothing else; `agent` only what an agent calls, and only
 * for the targets and channels of its scope (`token-scope.ts`). Each route declares the roles
 * that may call it (`config.roles`, checked by `http/auth.ts`). The list is the API's.
 */
export { TOKEN_ROLES };
export type { TokenRole };

/** Names a created token may not take: the bootstrap admin tokens' and the controller's. */
const RESERVED_NAMES: readonly string[] = [ADMIN_TOKEN_NAME, 'controller'];

/** Who made a request: the name of the token it carried, and what that token may speak for. */
export interface Actor {
  name: string;
  tokenId: string;
  role: TokenRole;
  /** null for admin and operator tokens; an agent token's scope (NO_SCOPE when it has none) */
  scope: TokenScope | null;
}

/** A token as the API shows it: never its secret or hash. */
export interface TokenView {
  name: string;
  role: string;
  createdAt: string;
  revokedAt: string | null;
  /** Agent tokens only: what the token speaks for (empty lists: nothing). */
  scope?: { targets: string[]; channels: string[] };
}

export interface CreateTokenInput {
  name: string;
  role: TokenRole;
  /** Required for agent tokens, refused for the others. */
  scope?: { targets: readonly string[]; channels: readonly string[] };
}

export interface TokenService {
  /**
   * Makes sure an admin token exists. With no active admin token: stores the configured admin
   * token, or a generated one (returned as generatedAdminToken), and writes it to
   * DATA/admin-token (mode 0600). With one present: adds the configured admin token when it is
   * new.
   */
  bootstrap(): Promise<{ generatedAdminToken: string | null }>;
  /** The actor of a bearer token, or null when the token is unknown, revoked or of no known role. */
  authenticate(token: string): Promise<Actor | null>;
  /**
   * Creates a token with a generated secret, returned here and never again (only its sha256 is
   * stored), and records it with its scope. CONFLICT when the name is taken (also by a revoked
   * token) or reserved; VALIDATION_FAILED for an agent token without a well-formed scope, or a
   * scope on another role.
   */
  create(input: CreateTokenInput, actor: string): Promise<{ token: TokenView; secret: string }>;
  /** Every token, revoked ones too, oldest first. */
  list(): Promise<TokenView[]>;
  /**
   * Revokes the tokens with this name at once and records it; a revoked one is answered as it is.
   * Once committed, `onRevoked` is told the revoked token ids (the event hub ends their streams);
   * with a listening feed, it returns once this replica heard its own notification (so every
   * other listening replica has been sent it), or after 2 s.
   * TOKEN_NOT_FOUND for an unknown name; CONFLICT when no active admin token would be left.
   */
  revoke(name: string, actor: string): Promise<TokenView>;
  /** Stops watching other replicas' revocations and forgets the tokens held in memory. */
  close(): void;
}

export function createTokenService(deps: {
  config: Pick<ServerConfig, 'adminToken' | 'dataDir'>;
  stores: UsedStores;
  clock: Clock;
  /** Told the ids of tokens just revoked, after the commit. */
  onRevoked?: (tokenIds: readonly string[]) => void;
  /**
   * How long before a revocation by another replica takes effect here while the feed does not
   * listen (default 1000 ms; 0: no cache). A revocation in this process takes effect at once.
   */
  cacheMaxAgeMs?: number;
  /** Other replicas' revocations as they commit (PostgreSQL): they take effect at once too. */
  feed?: ChangeFeed;
}): TokenService {
  const { config, stores, clock } = deps;
  const cacheMaxAgeMs = deps.cacheMaxAgeMs ?? DEFAULT_TOKEN_CACHE_MAX_AGE_MS;
  // Actors of authenticated tokens by token hash, kept until revoked: a token's role and scope
  // never change. A lookup that overlapped a revocation is not kept; while the poll of other
  // replicas' revocations fails, nothing is served from memory.
  const cache = new Map<string, Actor>();
  let revocations = 0;
  const forget = (tokenIds: readonly string[]): void => {
    revocations += 1;
    const ids = new Set(tokenIds);
    for (const [hash, actor] of cache) if (ids.has(actor.tokenId)) cache.delete(hash);
  };
  const poll = createChangePoll({
    intervalMs: Math.max(1, cacheMaxAgeMs),
    skewMs: CHANGE_POLL_SKEW_MS,
    changedSince: (since) => stores.tokens.revokedSince(since),
    onChanged: forget,
    ...(deps.feed === undefined
      ? {}
      : {
          feed: {
            source: deps.feed,
            pick: (change) => (change.kind === 'token' ? change.id : null),
            safetyIntervalMs: CHANGE_FEED_SAFETY_POLL_MS,
          },
        }),
  });

  const lookup = async (hash: string): Promise<Actor | null> => {
    const stored = await stores.tokens.findActiveByHash(hash);
    if (stored === null) return null;
    // Fail closed on roles this version does not know.
    const role = TOKEN_ROLES.find((known) => known === stored.role);
    if (role === undefined) return null;
    const scope = role === 'agent' ? (stored.scope ?? NO_SCOPE) : null;
    return { name: stored.name, tokenId: stored.id, role, scope };
  };

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
      if ((await stores.tokens.countActive('admin')) === 0) {
        const token = config.adminToken ?? newSecret();
        await storeAdminToken(token);
        return { generatedAdminToken: config.adminToken === null ? token : null };
      }
      if (config.adminToken !== null) await storeAdminToken(config.adminToken);
      return { generatedAdminToken: null };
    },

    async authenticate(token) {
      if (token === '') return null;
      const hash = hashToken(token);
      if (cacheMaxAgeMs > 0) poll.start();
      const fresh = poll.fresh();
      const cached = cache.get(hash);
      if (cached !== undefined && fresh) return cached;
      const seen = revocations;
      const actor = await lookup(hash);
      cache.delete(hash);
      if (actor !== null && fresh && seen === revocations) {
        cache.set(hash, actor);
        if (cache.size > MAX_CACHED_TOKENS) {
          const oldest = cache.keys().next();
          if (oldest.done !== true) cache.delete(oldest.value);
        }
      }
      return actor;
    },

    async create(input, actor) {
      if (RESERVED_NAMES.includes(input.name)) {
        throw new LockgateError('CONFLICT', `The token name ${input.name} is reserved.`, {
          details: { name: input.name },
        });
      }
      const scope = scopeOfNewToken(input);
      const secret = newSecret();
      const record: ApiToken = {
        id: `tok_${randomUUID()}`,
        name: input.name,
        tokenHash: hashToken(secret),
        role: input.role,
        createdAt: clock().toISOString(),
        revokedAt: null,
        ...(scope === null ? {} : { scope }),
      };
      const created = await stores.transaction(async (tx) => {
        if (!(await tx.tokens.insert(record))) return false;
        await recordDecisions(tx, [
          tokenDecision(record, 'token.created', actor, record.createdAt),
        ]);
        return true;
      });
      if (!created) {
        throw new LockgateError(
          'CONFLICT',
          `A token named ${input.name} exists (names of revoked tokens stay taken).`,
          { details: { name: input.name } },
        );
      }
      return { token: toView(record), secret };
    },

    async list() {
      return (await stores.tokens.list()).map(toView);
    },

    async revoke(name, actor) {
      const at = clock().toISOString();
      const echo =
        deps.feed === undefined
          ? null
          : watchChanges(deps.feed, (change) => (change.kind === 'token' ? change.id : null));
      try {
        return await revokeWatched(name, actor, at, echo);
      } finally {
        echo?.stop();
      }
    },

    close() {
      poll.stop();
      cache.clear();
    },
  };

  /** revoke's transaction and signals; `echo` collects what this replica's listener heard. */
  async function revokeWatched(
    name: string,
    actor: string,
    at: string,
    echo: ChangeWatch | null,
  ): Promise<TokenView> {
    const { view, revokedIds } = await stores.transaction(async (tx) => {
      const revoked = await tx.tokens.revokeByName(name, at);
      const last = revoked.at(-1);
      if (last === undefined) {
        const existing = (await tx.tokens.findByName(name)).at(-1);
        if (existing === undefined) {
          throw new LockgateError('TOKEN_NOT_FOUND', `No token is named ${name}.`, {
            details: { name },
          });
        }
        return { view: toView(existing), revokedIds: [] };
      }
      const adminRevoked = revoked.some((token) => token.role === 'admin');
      if (adminRevoked && (await tx.tokens.countActive('admin')) === 0) {
        const message = `Revoking ${name} would leave no active admin token.`;
        // Throwing rolls the revocation back.
        throw new LockgateError('CONFLICT', message, { details: { name } });
      }
      await recordDecisions(tx, [tokenDecision(last, 'token.revoked', actor, at)]);
      return { view: toView(last), revokedIds: revoked.map((token) => token.id) };
    });
    if (revokedIds.length > 0) {
      forget(revokedIds);
      deps.onRevoked?.(revokedIds);
      await echo?.heard(revokedIds, REVOCATION_ECHO_TIMEOUT_MS);
    }
    return view;
  }
}

/** A new bearer token: 32 random bytes, base64url. */
function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** The checked scope of a token to create: required for agents, refused for other roles. */
function scopeOfNewToken(input: CreateTokenInput): TokenScope | null {
  if (input.role !== 'agent') {
    if (input.scope === undefined) return null;
    throw new LockgateError(
      'VALIDATION_FAILED',
      `Only agent tokens have a scope; a ${input.role} token acts for every target.`,
      { details: { name: input.name, role: input.role } },
    );
  }
  if (input.scope === undefined) {
    throw new LockgateError(
      'VALIDATION_FAILED',
      'An agent token needs a scope: the target ids or patterns (host-1, host-*) and the ' +
        'channels (ENV/CHANNEL or ENV/*) it speaks for.',
      { details: { name: input.name, role: input.role } },
    );
  }
  return checkTokenScope(input.scope);
}

function toView(token: ApiToken): TokenView {
  const scope = token.role === 'agent' ? (token.scope ?? NO_SCOPE) : null;
  return {
    name: token.name,
    role: token.role,
    createdAt: token.createdAt,
    revokedAt: token.revokedAt,
    ...(scope === null
      ? {}
      : { scope: { targets: [...scope.targets], channels: [...scope.channels] } }),
  };
}

/** The decision record of a token created or revoked: who may act is part of the log. */
function tokenDecision(
  token: ApiToken,
  rule: 'token.created' | 'token.revoked',
  actor: string,
  at: string,
): DecisionRecordDraft {
  return {
    release: null,
    env: null,
    channel: null,
    at,
    kind: 'token',
    rule,
    actor,
    reason: null,
    from: null,
    to: null,
    stageIndex: null,
    inputs: {
      name: token.name,
      role: token.role,
      ...(token.scope === undefined
        ? {}
        : { scope: { targets: [...token.scope.targets], channels: [...token.scope.channels] } }),
    },
    verdict: rule === 'token.revoked' ? 'revoked' : 'created',
    holder: null,
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
