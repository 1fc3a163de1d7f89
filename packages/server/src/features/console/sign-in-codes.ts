import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../../clock.ts';

/**
 * One-time sign-in codes for the console. The first start of a server that generated its admin
 * token prints a link `URL/sign-in#code=CODE`; the console exchanges the code once for the token.
 *
 * Invariants: a code is redeemed at most once; a code past its expiry never redeems; only the
 * sha256 of a code is held (in memory, so a restart forgets every code); the code travels in the
 * URL fragment, which browsers send neither to servers nor in a Referer header.
 */

export const SIGN_IN_CODE_TTL_MS = 15 * 60_000;

export interface SignInCodes {
  /** A new code for `token`, valid once until `ttlMs` from now. */
  issue(token: string): string;
  /** The token of an unexpired, unused code, and the code is spent; else null. */
  redeem(code: string): string | null;
}

export function createSignInCodes(clock: Clock, ttlMs = SIGN_IN_CODE_TTL_MS): SignInCodes {
  const codes = new Map<string, { token: string; expiresAt: number }>();
  const hashOf = (code: string): string => createHash('sha256').update(code, 'utf8').digest('hex');
  return {
    issue(token) {
      const code = randomBytes(32).toString('base64url');
      codes.set(hashOf(code), { token, expiresAt: clock().getTime() + ttlMs });
      return code;
    },
    redeem(code) {
      const key = hashOf(code);
      const entry = codes.get(key);
      codes.delete(key);
      const now = clock().getTime();
      for (const [other, value] of codes) if (value.expiresAt <= now) codes.delete(other);
      if (entry === undefined || entry.expiresAt <= now) return null;
      return entry.token;
    },
  };
}
