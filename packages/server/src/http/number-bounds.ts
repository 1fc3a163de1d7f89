/**
 * Every number a request carries is bounded by its schema, so nothing reaches a column that
 * cannot hold it (see `Integer` and `BoundedNumber` in `schemas.ts`).
 *
 * Invariants:
 * - Each `integer` or `number` schema reachable from a route's body, querystring, params or
 *   headers schema (through properties, items, unions, `$ref` and the like) has a lower and an
 *   upper bound, both within ±Number.MAX_SAFE_INTEGER.
 * - `buildApp` checks every route as it is added and refuses to start otherwise: a new route
 *   cannot forget a bound.
 */

/** The parts of a route schema that describe the request. */
export const REQUEST_PARTS = ['body', 'querystring', 'params', 'headers'] as const;

type SchemaLookup = (id: string) => unknown;

/** JSON pointers (within the schema) of numbers without both bounds; empty when all are bounded. */
export function unboundedNumbers(
  schema: unknown,
  lookup: SchemaLookup = () => undefined,
): string[] {
  const problems: string[] = [];
  const seen = new Set<unknown>();
  const stack: { node: unknown; path: string }[] = [{ node: schema, path: '' }];
  while (stack.length > 0) {
    const { node, path } = stack.pop() as { node: unknown; path: string };
    if (typeof node !== 'object' || node === null || seen.has(node)) continue;
    seen.add(node);
    if (Array.isArray(node)) {
      node.forEach((item: unknown, i) => stack.push({ node: item, path: `${path}/${i}` }));
      continue;
    }
    const record = node as Record<string, unknown>;
    if (isNumeric(record['type']) && !isBounded(record)) problems.push(path === '' ? '/' : path);
    if (typeof record['$ref'] === 'string') {
      const target = lookup(record['$ref'].replace(/#$/, ''));
      stack.push({ node: target, path: `${path}/$ref(${record['$ref']})` });
    }
    for (const key of SUBSCHEMA_MAPS) {
      const map = record[key];
      if (typeof map !== 'object' || map === null) continue;
      for (const [name, child] of Object.entries(map)) {
        stack.push({ node: child, path: `${path}/${key}/${name}` });
      }
    }
    for (const key of SUBSCHEMAS) {
      if (key in record) stack.push({ node: record[key], path: `${path}/${key}` });
    }
  }
  return problems.sort();
}

/** Problems of a whole route schema, one sentence each, naming the request part. */
export function unboundedRequestNumbers(
  schema: Readonly<Record<string, unknown>> | undefined,
  lookup?: SchemaLookup,
): string[] {
  if (schema === undefined) return [];
  return REQUEST_PARTS.flatMap((part) =>
    unboundedNumbers(schema[part], lookup).map((path) => `${part} ${path}`),
  );
}

const SUBSCHEMA_MAPS = ['properties', 'patternProperties', 'dependentSchemas', '$defs'] as const;
const SUBSCHEMAS = [
  'additionalProperties',
  'items',
  'prefixItems',
  'additionalItems',
  'contains',
  'propertyNames',
  'anyOf',
  'oneOf',
  'allOf',
  'not',
  'if',
  'then',
  'else',
] as const;

function isNumeric(type: unknown): boolean {
  const types = Array.isArray(type) ? (type as unknown[]) : [type];
  return types.includes('integer') || types.includes('number');
}

function isBounded(schema: Record<string, unknown>): boolean {
  const lower = boundOf(schema, 'minimum', 'exclusiveMinimum');
  const upper = boundOf(schema, 'maximum', 'exclusiveMaximum');
  return (
    lower !== undefined &&
    upper !== undefined &&
    lower >= -Number.MAX_SAFE_INTEGER &&
    upper <= Number.MAX_SAFE_INTEGER
  );
}

function boundOf(
  schema: Record<string, unknown>,
  inclusive: string,
  exclusive: string,
): number | undefined {
  const value = schema[inclusive] ?? schema[exclusive];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
