import { normalizeRfc3339, TOKEN_ROLES } from '@lockgate/api';
import type { TokenRole } from '@lockgate/api';
import { InvalidArgumentError } from 'commander';
import {
  formatDuration,
  GATE_STATUSES,
  isDigest,
  parseDuration,
  parseSelector,
  RELEASE_STATES,
} from '@lockgate/core';
import type { GateResult, GateStatus, LabelSelector, ReleaseStatus, Weekday } from '@lockgate/core';

/** Commander parsers for option and argument values; a bad value is a usage error (exit 2). */

function splitPair(value: string, shape: string): [string, string] {
  const at = value.indexOf('=');
  if (at <= 0 || at === value.length - 1) {
    throw new InvalidArgumentError(`Expected ${shape}.`);
  }
  return [value.slice(0, at), value.slice(at + 1)];
}

/** `NAME=STATUS` with STATUS one of PASS, FAIL, ERROR, SKIP (any case); repeatable. */
export function collectGate(value: string, previous: GateResult[] | undefined): GateResult[] {
  const [name, rawStatus] = splitPair(value, 'NAME=STATUS');
  const status = rawStatus.toUpperCase();
  if (!(GATE_STATUSES as readonly string[]).includes(status)) {
    throw new InvalidArgumentError(
      `Gate status must be one of ${GATE_STATUSES.join(', ')}, not '${rawStatus}'.`,
    );
  }
  if (previous?.some((gate) => gate.name === name) === true) {
    throw new InvalidArgumentError(`Gate '${name}' is given twice.`);
  }
  return [...(previous ?? []), { name, status: status as GateStatus }];
}

/** `KEY=VALUE`, repeatable, each key once. */
export function collectPair(
  value: string,
  previous: Record<string, string> | undefined,
): Record<string, string> {
  const [key, entry] = splitPair(value, 'KEY=VALUE');
  if (previous !== undefined && Object.hasOwn(previous, key)) {
    throw new InvalidArgumentError(`'${key}' is given twice.`);
  }
  return { ...previous, [key]: entry };
}

/** Any repeatable string option. */
export function collectString(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function integerIn(value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value)) {
    throw new InvalidArgumentError(`Expected a whole number from ${min} to ${max}.`);
  }
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    throw new InvalidArgumentError(`Expected a whole number from ${min} to ${max}.`);
  }
  return number;
}

export function parseSequence(value: string): number {
  return integerIn(value, 0, Number.MAX_SAFE_INTEGER);
}

export function parsePort(value: string): number {
  return integerIn(value, 0, 65535);
}

export function parseLimit(value: string): number {
  return integerIn(value, 1, 1000);
}

export function parseDigestValue(value: string): string {
  if (!isDigest(value)) {
    throw new InvalidArgumentError('Expected a digest sha256:<64 lowercase hex>.');
  }
  return value;
}

/** A pack reference: a digest or NAME@VERSION. */
export function parsePackRef(value: string): string {
  if (isDigest(value)) {
    return value;
  }
  const at = value.lastIndexOf('@');
  if (at <= 0 || at === value.length - 1) {
    throw new InvalidArgumentError('Expected a digest sha256:<hex> or NAME@VERSION.');
  }
  return value;
}

export function parseBuildStatus(value: string): 'passed' | 'failed' {
  if (value !== 'passed' && value !== 'failed') {
    throw new InvalidArgumentError("Expected 'passed' or 'failed'.");
  }
  return value;
}

/** A file base name for generated keys: letters, digits, '.', '_' and '-', not starting with '.'. */
export function parseKeyName(value: string): string {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/.test(value)) {
    throw new InvalidArgumentError(
      "Expected letters, digits, '.', '_' or '-' (not starting with '.'), at most 128.",
    );
  }
  return value;
}

export function parseServerUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('Expected an http:// or https:// URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError('Expected an http:// or https:// URL.');
  }
  return value;
}

/** Names of environments, channels, cohorts and plans (docs/api-releases.md). */
const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const NAME_RULE = "lowercase letters, digits and '-', starting with a letter or digit, at most 63";

function checkName(value: string, what: string): string {
  if (!NAME.test(value)) {
    throw new InvalidArgumentError(`${what} '${value}' is not a name (${NAME_RULE}).`);
  }
  return value;
}

export function parseEnvName(value: string): string {
  return checkName(value, 'Environment');
}

export function parseChannelName(value: string): string {
  return checkName(value, 'Channel');
}

export function parsePlanName(value: string): string {
  return checkName(value, 'Plan');
}

/** An API token's name: the principal the server records as actor. */
export function parseTokenName(value: string): string {
  return checkName(value, 'Token');
}

/** The roles of API tokens: the API's list. */
export { TOKEN_ROLES };
export type { TokenRole };

export function parseTokenRole(value: string): TokenRole {
  const role = TOKEN_ROLES.find((candidate) => candidate === value);
  if (role === undefined) {
    throw new InvalidArgumentError(`Expected one of ${TOKEN_ROLES.join(', ')}.`);
  }
  return role;
}

export interface ChannelRef {
  env: string;
  channel: string;
}

/** `ENV/CHANNEL`, e.g. `prod-eu/stable`. */
export function parseChannelRef(value: string): ChannelRef {
  const parts = value.split('/');
  const [env, channel] = parts;
  if (parts.length !== 2 || env === undefined || channel === undefined) {
    throw new InvalidArgumentError(`Expected ENV/CHANNEL, e.g. prod-eu/stable, not '${value}'.`);
  }
  return { env: checkName(env, 'Environment'), channel: checkName(channel, 'Channel') };
}

export interface PinScope extends ChannelRef {
  /** a cohort of the channel, or null for the whole channel */
  cohort: string | null;
}

/** `ENV/CHANNEL` (the whole channel) or `ENV/CHANNEL/COHORT`. */
export function parsePinScope(value: string): PinScope {
  const parts = value.split('/');
  const [env, channel, cohort] = parts;
  if (parts.length < 2 || parts.length > 3 || env === undefined || channel === undefined) {
    throw new InvalidArgumentError(
      `Expected ENV/CHANNEL or ENV/CHANNEL/COHORT, e.g. prod-eu/stable/canary, not '${value}'.`,
    );
  }
  return {
    env: checkName(env, 'Environment'),
    channel: checkName(channel, 'Channel'),
    cohort: cohort === undefined ? null : checkName(cohort, 'Cohort'),
  };
}

/** Seconds of a duration (`30s`, `10m`, `24h`, `7d`, `1h30m` or whole seconds), more than 0. */
export function parsePositiveDuration(value: string): number {
  let seconds: number;
  try {
    seconds = parseDuration(value);
  } catch {
    throw new InvalidArgumentError(
      `Expected a duration like 30s, 10m, 24h, 7d or 1h30m, not '${value}'.`,
    );
  }
  if (seconds <= 0) {
    throw new InvalidArgumentError(`Expected a duration longer than 0, not '${value}'.`);
  }
  return seconds;
}

/** An RFC 3339 time with a zone (`2026-12-24T18:00:00Z`), returned in UTC ISO form. */
export function parseTimeValue(value: string): string {
  const normalized = normalizeRfc3339(value);
  if (normalized === null) {
    throw new InvalidArgumentError(
      `Expected an RFC 3339 time with a zone, e.g. 2026-12-24T18:00:00Z, not '${value}'.`,
    );
  }
  return normalized;
}

/** Weekdays in week order, from `mon,wed,fri`, `mon-fri` or a mix (`mon-wed,sat`). */
export function parseWeekdays(value: string): Weekday[] {
  const order: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
  const indexOf = (day: string): number => {
    const index = order.indexOf(day.trim().toLowerCase() as Weekday);
    if (index === -1) {
      throw new InvalidArgumentError(
        `Expected weekdays like mon,wed or mon-fri (of ${order.join(', ')}), not '${value}'.`,
      );
    }
    return index;
  };
  const chosen = new Set<number>();
  for (const part of value.split(',')) {
    const [from, to, ...rest] = part.split('-');
    if (from === undefined || rest.length > 0) {
      throw new InvalidArgumentError(`Expected weekdays like mon,wed or mon-fri, not '${value}'.`);
    }
    const start = indexOf(from);
    const end = to === undefined ? start : indexOf(to);
    if (end < start) {
      throw new InvalidArgumentError(
        `The day range '${part}' runs backwards; write it in week order (mon to sun).`,
      );
    }
    for (let day = start; day <= end; day += 1) {
      chosen.add(day);
    }
  }
  return order.filter((_day, index) => chosen.has(index));
}

/** A UTC time of day, `HH:MM`. */
export function parseClockTime(value: string): string {
  if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(value)) {
    throw new InvalidArgumentError(`Expected a UTC time of day HH:MM, e.g. 22:00, not '${value}'.`);
  }
  return value;
}

/** A downgrade floor: a pack sequence, or `none` to clear it. */
export function parseFloor(value: string): number | null {
  if (value === 'none') {
    return null;
  }
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError(`Expected a pack sequence (whole number) or 'none'.`);
  }
  return Number(value);
}

export interface CohortSpec {
  name: string;
  selector?: LabelSelector;
  percent?: number;
}

function mergeCohort(
  previous: CohortSpec[] | undefined,
  name: string,
  field: 'selector' | 'percent',
  patch: Partial<CohortSpec>,
): CohortSpec[] {
  checkName(name, 'Cohort');
  const list = previous ?? [];
  const existing = list.find((cohort) => cohort.name === name);
  if (existing !== undefined && existing[field] !== undefined) {
    throw new InvalidArgumentError(`The ${field} of cohort '${name}' is given twice.`);
  }
  if (existing === undefined) {
    return [...list, { name, ...patch }];
  }
  return list.map((cohort) => (cohort === existing ? { ...cohort, ...patch } : cohort));
}

/** `NAME=SELECTOR`, e.g. `eu=region=eu,tier in (a,b)`; repeatable, merged with --cohort-percent. */
export function collectCohort(value: string, previous: CohortSpec[] | undefined): CohortSpec[] {
  const [name, text] = splitPair(value, 'NAME=SELECTOR, e.g. eu=region=eu');
  let selector: LabelSelector;
  try {
    selector = parseSelector(text);
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
  return mergeCohort(previous, name, 'selector', { selector });
}

/** `NAME=PCT` with PCT from 0 to 100 (two decimals at most, an optional '%'); repeatable. */
export function collectCohortPercent(
  value: string,
  previous: CohortSpec[] | undefined,
): CohortSpec[] {
  const [name, text] = splitPair(value, 'NAME=PERCENT, e.g. canary=10');
  const number = text.replace(/%$/, '');
  const percent = /^\d{1,3}(\.\d{1,2})?$/.test(number) ? Number(number) : Number.NaN;
  if (!(percent >= 0 && percent <= 100)) {
    throw new InvalidArgumentError(
      `Expected a percentage from 0 to 100 (at most two decimals), not '${text}'.`,
    );
  }
  return mergeCohort(previous, name, 'percent', { percent });
}

export function parseReleaseState(value: string): ReleaseStatus {
  const state = RELEASE_STATES.find((candidate) => candidate === value);
  if (state === undefined) {
    throw new InvalidArgumentError(`Expected one of ${RELEASE_STATES.join(', ')}.`);
  }
  return state;
}

/** The reason of an operator action: some text, not only spaces. */
export function parseReason(value: string): string {
  const reason = value.trim();
  if (reason === '') {
    throw new InvalidArgumentError('Expected a reason (some words saying why).');
  }
  return reason;
}

/** An Idempotency-Key header value: 1 to 255 visible ASCII characters. */
export function parseIdempotencyKey(value: string): string {
  if (!/^[\x21-\x7e]{1,255}$/.test(value)) {
    throw new InvalidArgumentError('Expected 1 to 255 visible ASCII characters, without spaces.');
  }
  return value;
}

export type Expiry = { expiresIn: string; seconds: number } | { expiresAt: string };

/** A pin's expiry: a duration from now (`24h`) or an RFC 3339 time. */
export function parseExpiry(value: string): Expiry {
  if (/^\d{4}-/.test(value)) {
    return { expiresAt: parseTimeValue(value) };
  }
  let seconds: number;
  try {
    seconds = parsePositiveDuration(value);
  } catch {
    throw new InvalidArgumentError(
      `Expected a duration like 24h or 7d, or an RFC 3339 time, not '${value}'.`,
    );
  }
  return { expiresIn: formatDuration(seconds), seconds };
}

/** The validity of a signed channel index: 1 minute to 30 days. */
export function parseIndexTtl(value: string): number {
  const seconds = parsePositiveDuration(value);
  if (seconds < 60 || seconds > 30 * 86_400) {
    throw new InvalidArgumentError(`Expected a duration from 1m to 30d, not '${value}'.`);
  }
  return seconds;
}

/** A release id such as `rel_…`: letters, digits, '_' and '-', at most 128. */
export function parseReleaseId(value: string): string {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(value)) {
    throw new InvalidArgumentError(
      `Expected a release id (letters, digits, '_' and '-'), not '${value}'.`,
    );
  }
  return value;
}
