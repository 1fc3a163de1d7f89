/**
 * The words every request and response is made of: names, ids, digests, reasons, bounded
 * numbers, limits, durations, weekdays and the enumerations of the domain. The lists repeat
 * core's (this package depends on nothing of ours but the RFC 3339 parser); a server test holds
 * each equal to core's, in the same order, so the OpenAPI document and core cannot drift.
 */
import { Type } from '@sinclair/typebox';
import type { IntegerOptions, NumberOptions, TInteger, TNumber, TUnsafe } from '@sinclair/typebox';

/** A string that is one of the values, as a plain JSON Schema `enum` (clear errors and docs). */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: { description?: string } = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/** Names of environments, channels, cohorts and plans. */
export const NAME_PATTERN = '^[a-z0-9][a-z0-9-]{0,62}$';

export const Name = Type.String({ pattern: NAME_PATTERN, description: 'A name: a-z 0-9 -, 1-63.' });

/** A digest as written everywhere: `sha256:` and 64 lowercase hex digits. */
export const DIGEST_PATTERN = '^sha256:[0-9a-f]{64}$';

export const DigestString = Type.String({
  pattern: DIGEST_PATTERN,
  description: 'sha256:<64 hex>',
});

/** A stable target id: letters, digits, `.` `_` `:` `-`, up to 255. */
export const TARGET_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:-]{0,254}$';

/** Ids the server makes (releases, rollback authorizations): letters, digits, `_` `-`. */
export const RECORD_ID_PATTERN = '^[A-Za-z0-9_-]+$';

/** An operator's reason for an action: recorded with it. */
export const Reason = Type.String({ minLength: 1, maxLength: 1024 });

/** Any JSON object (nested shapes documented elsewhere, e.g. plans and decision inputs). */
export const JsonObject = Type.Object({}, { additionalProperties: true });

/**
 * A JSON object on the wire (documented as any object, like JsonObject) whose TypeScript type is
 * `T`: the shape the server sends, described where the JSON Schema stays open.
 */
export function JsonObjectOf<T>(): TUnsafe<T> {
  return Type.Unsafe<T>(Type.Object({}, { additionalProperties: true }));
}

/** `key: value` string pairs such as labels and constraints. */
export const StringMap = Type.Record(
  Type.String({ minLength: 1, maxLength: 317 }),
  Type.String({ maxLength: 1024 }),
  { maxProperties: 256 },
);

/**
 * Bounds of the numbers a request may carry: what every column stores on both databases.
 * PostgreSQL `integer` columns hold 32-bit signed values (SQLite's hold 64 bits); numbers kept
 * in JSON text and `bigint` columns stay within what a JavaScript number represents exactly.
 * Every integer and number of a request schema has both bounds (the server refuses to start
 * with a route without them).
 */
export const INT32_MIN = -2_147_483_648;
export const INT32_MAX = 2_147_483_647;

/** An integer of a request: by default 0 to INT32_MAX, what an `integer` column holds. */
export function Integer(options: IntegerOptions = {}): TInteger {
  return Type.Integer({ minimum: 0, maximum: INT32_MAX, ...options });
}

/** A number of a request: by default within ±Number.MAX_SAFE_INTEGER. */
export function BoundedNumber(options: NumberOptions = {}): TNumber {
  return Type.Number({
    minimum: -Number.MAX_SAFE_INTEGER,
    maximum: Number.MAX_SAFE_INTEGER,
    ...options,
  });
}

/** A result limit in a query string: 1 to 1000, sent as text since query values are not coerced. */
export const LimitQuery = Type.String({
  pattern: '^(?:[1-9][0-9]{0,2}|1000)$',
  description: 'Maximum number of items, 1 to 1000 (default 100).',
});

export const DEFAULT_LIST_LIMIT = 100;

/** The limit a list query asks for (DEFAULT_LIST_LIMIT when it names none). */
export function limitOf(raw: string | undefined): number {
  return raw === undefined ? DEFAULT_LIST_LIMIT : Number(raw);
}

/** A duration in a request: text (`30s`, `10m`, `24h`, `7d`, `1h30m`) or whole seconds. */
export const Duration = Type.Union([
  Type.String({ minLength: 1, maxLength: 32, description: 'e.g. 30m, 24h, 7d' }),
  Integer({ minimum: 1, description: 'seconds' }),
]);

/** A time of day in UTC, `HH:MM` (weekly windows). */
export const TIME_OF_DAY_PATTERN = '^([01][0-9]|2[0-3]):[0-5][0-9]$';

/** Days of the week as windows name them (core `WEEKDAYS`, same order). */
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** The roles of API tokens. */
export const TOKEN_ROLES = ['admin', 'operator', 'agent', 'viewer'] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];

/** Build gate statuses (core `GATE_STATUSES`). */
export const GATE_STATUSES = ['PASS', 'FAIL', 'ERROR', 'SKIP'] as const;
export type GateStatus = (typeof GATE_STATUSES)[number];

/** Label selector operators (core `SELECTOR_OPERATORS`). */
export const SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
export type SelectorOperator = (typeof SELECTOR_OPERATORS)[number];

/** Health gate comparisons (core `GATE_OPERATORS`). */
export const GATE_OPERATORS = ['<=', '<', '>=', '>'] as const;
export type GateOperator = (typeof GATE_OPERATORS)[number];

/** Release states in lifecycle order (core `RELEASE_STATES`). */
export const RELEASE_STATES = [
  'requested',
  'verifying',
  'rolling',
  'paused',
  'completed',
  'rolled_back',
  'aborted',
  'failed',
] as const;
export type ReleaseStatus = (typeof RELEASE_STATES)[number];

/** Operator commands on a release (core `COMMAND_KINDS`). */
export const COMMAND_KINDS = [
  'pause',
  'resume',
  'abort',
  'promote',
  'approve',
  'reject',
  'retry',
  'rollback',
] as const;
export type CommandKind = (typeof COMMAND_KINDS)[number];
