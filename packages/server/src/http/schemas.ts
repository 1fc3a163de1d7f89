import { Type } from '@sinclair/typebox';
import type { IntegerOptions, NumberOptions, TInteger, TNumber, TUnsafe } from '@sinclair/typebox';

export const ErrorSchema = Type.Object(
  {
    code: Type.String({ description: 'A stable code from the list of error codes.' }),
    message: Type.String(),
    details: Type.Optional(Type.Object({}, { additionalProperties: true })),
  },
  { $id: 'LockgateError', additionalProperties: false },
);

/** Error responses every route may answer with, for the OpenAPI document. */
export const errorResponses = {
  '4xx': Type.Ref(ErrorSchema),
  '5xx': Type.Ref(ErrorSchema),
};

/** A result limit in a query string: 1 to 1000, sent as text since query values are not coerced. */
export const LimitQuery = Type.String({
  pattern: '^(?:[1-9][0-9]{0,2}|1000)$',
  description: 'Maximum number of items, 1 to 1000 (default 100).',
});

export const DEFAULT_LIST_LIMIT = 100;

export function limitOf(raw: string | undefined): number {
  return raw === undefined ? DEFAULT_LIST_LIMIT : Number(raw);
}

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

export const DigestString = Type.String({
  pattern: '^sha256:[0-9a-f]{64}$',
  description: 'sha256:<64 hex>',
});

/** An operator's reason for an action: recorded with it. */
export const Reason = Type.String({ minLength: 1, maxLength: 1024 });

/** Any JSON object (nested shapes documented elsewhere, e.g. plans and decision inputs). */
export const JsonObject = Type.Object({}, { additionalProperties: true });

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
 * Every integer and number of a request schema has both bounds (`assertBoundedNumbers` refuses
 * a route without them when the app starts).
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
