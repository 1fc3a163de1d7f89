import { Type } from '@sinclair/typebox';
import type { TUnsafe } from '@sinclair/typebox';

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
