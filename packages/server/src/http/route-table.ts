/**
 * The routes of the app as declared (`/api/v1/targets/:id`), to tell a path that exists for
 * other methods (405 with `Allow`) from one that does not exist at all (404).
 *
 * Invariants: a `:param` segment matches one non-empty path segment, `*` matches the rest;
 * other segments match literally. Methods come back sorted and without duplicates.
 */
import type { RouteAccess } from './route-roles.ts';

export interface DeclaredRoute {
  method: string;
  url: string;
  /** the route's schema as declared (body, querystring, params, headers, response, ...) */
  schema: Readonly<Record<string, unknown>> | undefined;
  /** the route's config as declared: who may call it (`roles`, `agentScope`, `public`) */
  config: Readonly<RouteAccess>;
}

export interface RouteTable {
  add(
    method: string | readonly string[],
    url: string,
    schema?: Readonly<Record<string, unknown>>,
    config?: Readonly<RouteAccess>,
  ): void;
  /** The methods declared for a request path (without its query), or none. */
  methodsOf(path: string): string[];
  /** Every route added, one entry per method, in the order added. */
  list(): DeclaredRoute[];
}

export function createRouteTable(): RouteTable {
  const entries: {
    pattern: RegExp;
    methods: string[];
    url: string;
    schema: DeclaredRoute['schema'];
    config: DeclaredRoute['config'];
  }[] = [];
  return {
    add(method, url, schema, config = {}) {
      const methods = typeof method === 'string' ? [method] : [...method];
      entries.push({ pattern: patternOf(url), methods, url, schema, config });
    },
    list() {
      return entries.flatMap(({ methods, url, schema, config }) =>
        methods.map((method) => ({ method, url, schema, config })),
      );
    },
    methodsOf(path) {
      const methods = new Set<string>();
      for (const entry of entries) {
        if (entry.pattern.test(path)) for (const method of entry.methods) methods.add(method);
      }
      return [...methods].sort();
    },
  };
}

function patternOf(url: string): RegExp {
  const segments = url.split('/').map((segment) => {
    if (segment === '*') return '.*';
    if (segment.startsWith(':')) return '[^/]+';
    return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  });
  return new RegExp(`^${segments.join('/')}$`);
}
