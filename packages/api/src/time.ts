/**
 * Times on the wire are RFC 3339 with a zone, read by the one parser Lockgate has. It lives in
 * core, the lowest layer (core cannot depend on this package), in a file that imports nothing;
 * it is re-exported here so clients of the API (the CLI, the console) need no other package.
 */
export { normalizeRfc3339, parseRfc3339 } from '@lockgate/core/rfc3339';
