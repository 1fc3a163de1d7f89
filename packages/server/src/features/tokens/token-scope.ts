import { CHANNEL_PATTERN_PATTERN, MAX_SCOPE_PATTERNS, TARGET_PATTERN_PATTERN } from '@lockgate/api';
import { LockgateError } from '@lockgate/core';

/**
 * What an agent token may speak for (docs/security.md).
 *
 * Invariants:
 * - Only agent tokens have a scope. Admin, operator and viewer tokens are not limited by one:
 *   their scope is null here (what a viewer may call is limited by the routes' roles).
 * - A scope holds 1–64 target patterns and 1–64 channel patterns. An agent token stored without
 *   a scope (created before scopes existed) has NO_SCOPE, which matches nothing: fail closed.
 * - A target pattern is a target id in which `*` stands for any run of target-id characters,
 *   none included: `host-1`, `host-*`, `*`. A channel pattern is `ENV/CHANNEL`, where either
 *   part may be `*` (any): `prod-eu/stable`, `prod-eu/*`. Nothing else is a wildcard; matching
 *   is case-sensitive and covers the whole id.
 * - The scope is the authority: any token whose scope covers a target id and the target's
 *   channel speaks for that target, whichever token registered it first.
 */
export interface TokenScope {
  readonly targets: readonly string[];
  readonly channels: readonly string[];
}

/** Who acts, as the services see it: a name for the record and what it may speak for. */
export interface Principal {
  readonly name: string;
  /** null: unrestricted (admin and operator tokens, the controller) */
  readonly scope: TokenScope | null;
}

/** The scope of an agent token stored without one: it speaks for nothing. */
export const NO_SCOPE: TokenScope = Object.freeze({
  targets: Object.freeze([]),
  channels: Object.freeze([]),
});

/** The scope patterns' vocabulary is the API's (`@lockgate/api` tokens.ts). */
export { CHANNEL_PATTERN_PATTERN, MAX_SCOPE_PATTERNS, TARGET_PATTERN_PATTERN };

const targetPatternRegex = new RegExp(TARGET_PATTERN_PATTERN);
const channelPatternRegex = new RegExp(CHANNEL_PATTERN_PATTERN);

/**
 * The scope as given, checked and without repeats (order kept); VALIDATION_FAILED when a list
 * is empty, too long or holds a malformed pattern.
 */
export function checkTokenScope(input: {
  targets: readonly string[];
  channels: readonly string[];
}): TokenScope {
  const problems: string[] = [];
  const check = (list: readonly string[], field: string, regex: RegExp, form: string) => {
    if (list.length === 0) problems.push(`scope.${field} names no pattern`);
    if (list.length > MAX_SCOPE_PATTERNS) {
      problems.push(`scope.${field} has more than ${MAX_SCOPE_PATTERNS} patterns`);
    }
    for (const pattern of list) {
      if (!regex.test(pattern)) problems.push(`scope.${field} "${pattern}" is not ${form}`);
    }
  };
  check(input.targets, 'targets', targetPatternRegex, 'a target id or pattern (host-*)');
  check(input.channels, 'channels', channelPatternRegex, 'ENV/CHANNEL or ENV/*');
  if (problems.length > 0) {
    throw new LockgateError('VALIDATION_FAILED', `The token scope is malformed: ${problems[0]}.`, {
      details: { problems },
    });
  }
  return {
    targets: [...new Set(input.targets)],
    channels: [...new Set(input.channels)],
  };
}

/** Whether `pattern` (a target pattern) covers the target id `id`. */
export function matchesTargetPattern(pattern: string, id: string): boolean {
  if (!pattern.includes('*')) return pattern === id;
  const parts = pattern.split('*');
  const first = parts[0] ?? '';
  const last = parts.at(-1) ?? '';
  if (id.length < first.length + last.length) return false;
  if (!id.startsWith(first) || !id.endsWith(last)) return false;
  // The middle parts in order, each after the previous one, none overlapping the last part.
  let at = first.length;
  const end = id.length - last.length;
  for (const part of parts.slice(1, -1)) {
    const found = id.indexOf(part, at);
    if (found === -1 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}

/** Whether `pattern` (`ENV/CHANNEL`, either part may be `*`) covers env/channel. */
export function matchesChannelPattern(pattern: string, env: string, channel: string): boolean {
  const slash = pattern.indexOf('/');
  if (slash === -1) return false;
  const envPart = pattern.slice(0, slash);
  const channelPart = pattern.slice(slash + 1);
  return (envPart === '*' || envPart === env) && (channelPart === '*' || channelPart === channel);
}

/** Whether the scope (null: unrestricted) covers the target id. */
export function targetInScope(scope: TokenScope | null, id: string): boolean {
  return scope === null || scope.targets.some((pattern) => matchesTargetPattern(pattern, id));
}

/** Whether the scope (null: unrestricted) covers the channel. */
export function channelInScope(scope: TokenScope | null, env: string, channel: string): boolean {
  return (
    scope === null || scope.channels.some((pattern) => matchesChannelPattern(pattern, env, channel))
  );
}

/** `targets host-*; channels prod-eu/stable`, or `nothing` for NO_SCOPE. */
export function scopeText(scope: TokenScope): string {
  if (scope.targets.length === 0 || scope.channels.length === 0) return 'nothing';
  return `targets ${scope.targets.join(', ')}; channels ${scope.channels.join(', ')}`;
}

/** FORBIDDEN unless the principal may speak for the target id. */
export function assertTargetInScope(principal: Principal, id: string): void {
  const { scope } = principal;
  if (scope === null || targetInScope(scope, id)) return;
  throw new LockgateError(
    'FORBIDDEN',
    `The token ${principal.name} may not speak for target ${id}: its scope is ${scopeText(scope)}.`,
    { details: { token: principal.name, target: id, scope: scopeDetails(scope) } },
  );
}

/**
 * FORBIDDEN unless the principal's scope covers env/channel; `what` says what was asked in that
 * channel (`read the index of`, `register host-1 in`, ...).
 */
export function assertChannelInScope(
  principal: Principal,
  env: string,
  channel: string,
  what: string,
): void {
  const { scope } = principal;
  if (scope === null || channelInScope(scope, env, channel)) return;
  throw new LockgateError(
    'FORBIDDEN',
    `The token ${principal.name} may not ${what} ${env}/${channel}: its scope is ${scopeText(scope)}.`,
    {
      details: { token: principal.name, env, channel, scope: scopeDetails(scope) },
    },
  );
}

function scopeDetails(scope: TokenScope): { targets: string[]; channels: string[] } {
  return { targets: [...scope.targets], channels: [...scope.channels] };
}
