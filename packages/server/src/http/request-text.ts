/**
 * One rule for the text of every request, applied by a hook of the whole app (`buildApp`), so
 * no route can forget it: a string the database cannot store as sent is refused with 400
 * `VALIDATION_FAILED` before any handler runs.
 *
 * Invariants:
 * - U+0000 (NUL) is refused everywhere: PostgreSQL refuses it in text and SQLite cuts the text
 *   at it, so a stored `reason` would differ from the one a decision record's digest covers.
 * - An unpaired UTF-16 surrogate is refused everywhere: both databases store UTF-8, where it
 *   becomes U+FFFD, so the stored text would differ from the text sent.
 * - Other control characters (C0 U+0001–U+001F, DEL U+007F, C1 U+0080–U+009F) are refused in
 *   path and query parameters, in JSON object keys, and in JSON string values, except TAB, LF
 *   and CR in JSON string values (free text such as a reason or build gate details may span
 *   lines). Nothing a terminal would act on reaches a stored record.
 * - Header values may hold TAB but no other C0 control character and no DEL (RFC 9110 field
 *   values; Node's parser enforces the same for real connections).
 * - The walk is iterative and visits each string once: nesting depth cannot exhaust the stack.
 */
import { LockgateError } from '@lockgate/core';
import type { FastifyRequest } from 'fastify';
import { unstorableTextOf } from '../db/storable-text.ts';

/** Where in a request a string was found. */
export type RequestPart = 'params' | 'querystring' | 'body' | 'headers';

export interface TextProblem {
  in: RequestPart;
  /** JSON pointer to the value (or to the object holding a refused key). */
  path: string;
  message: string;
}

/** Control characters refused in identifiers: parameters, query values and object keys. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;
/** Control characters refused in JSON string values: all of CONTROL but TAB, LF and CR. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL_IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/u;
/** Control characters refused in header values. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL_IN_HEADER = /[\u0000-\u0008\u000a-\u001f\u007f]/u;

/** Why the string breaks the rule for its place, or null when it is allowed. */
export function textProblemOf(value: string, place: 'name' | 'text' | 'header'): string | null {
  const unstorable = unstorableTextOf(value);
  if (unstorable !== null) return unstorable;
  const pattern =
    place === 'text' ? CONTROL_IN_TEXT : place === 'header' ? CONTROL_IN_HEADER : CONTROL;
  const match = pattern.exec(value);
  if (match === null) return null;
  const code = match[0].codePointAt(0) ?? 0;
  const name = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return `holds a control character (${name})`;
}

/**
 * The first string in `value` that breaks the rule, walking arrays and objects (keys too, always
 * judged as names). Strings are judged as names (parameters, query values) or as free text
 * (JSON string values).
 */
export function findTextProblem(
  value: unknown,
  part: RequestPart,
  stringsAre: 'name' | 'text',
): TextProblem | null {
  // a node's path is built only for the one that breaks the rule (a report batch holds thousands)
  const stack: TextNode[] = [{ value, parent: null, key: '' }];
  while (stack.length > 0) {
    const node = stack.pop() as TextNode;
    const current = node.value;
    if (typeof current === 'string') {
      const message = textProblemOf(current, stringsAre);
      if (message !== null) return { in: part, path: pathOf(node), message };
    } else if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) {
        stack.push({ value: current[i] as unknown, parent: node, key: i });
      }
    } else if (typeof current === 'object' && current !== null && !Buffer.isBuffer(current)) {
      for (const key in current) {
        if (!Object.hasOwn(current, key)) continue;
        const keyProblem = textProblemOf(key, 'name');
        if (keyProblem !== null) {
          return { in: part, path: pathOf(node), message: `has a key that ${keyProblem}` };
        }
        stack.push({ value: (current as Record<string, unknown>)[key], parent: node, key });
      }
    }
  }
  return null;
}

/** A value met walking a request part: the root has no parent. */
interface TextNode {
  value: unknown;
  parent: TextNode | null;
  /** its key or index in its parent */
  key: string | number;
}

/** The node's JSON pointer (RFC 6901) from the part's root. */
function pathOf(node: TextNode): string {
  const keys: string[] = [];
  for (let at = node; at.parent !== null; at = at.parent) {
    keys.push(typeof at.key === 'number' ? String(at.key) : escapePointer(at.key));
  }
  return keys
    .reverse()
    .map((key) => `/${key}`)
    .join('');
}

/** The first string of the request that breaks the rule, or null. */
export function requestTextProblem(request: FastifyRequest): TextProblem | null {
  for (const [name, header] of Object.entries(request.headers)) {
    for (const value of Array.isArray(header) ? header : [header]) {
      if (typeof value !== 'string') continue;
      const message = textProblemOf(value, 'header');
      if (message !== null) return { in: 'headers', path: `/${name}`, message };
    }
  }
  return (
    findTextProblem(request.params, 'params', 'name') ??
    findTextProblem(request.query, 'querystring', 'name') ??
    findTextProblem(request.body, 'body', 'text')
  );
}

/** A preValidation hook: refuses a request whose text breaks the rule (400 VALIDATION_FAILED). */
export function refuseUnsafeText(request: FastifyRequest): Promise<void> {
  const problem = requestTextProblem(request);
  if (problem === null) return Promise.resolve();
  const where = problem.path === '' ? problem.in : `${problem.in} ${problem.path}`;
  return Promise.reject(
    new LockgateError('VALIDATION_FAILED', `The ${where} ${problem.message}.`, {
      details: {
        in: problem.in,
        problems: [{ path: problem.path, keyword: 'text', message: problem.message }],
      },
    }),
  );
}

function escapePointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}
