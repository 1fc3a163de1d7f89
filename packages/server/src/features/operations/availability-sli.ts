/**
 * The service level indicator of the availability SLO (docs/operations/slos.md): what agents
 * need to know what to run — the channel index and a target's desired pack — answered well.
 *
 * An event is a GET of one of those routes. It is good when answered 2xx or 304 in under
 * SLO_LATENCY_SECONDS; bad when answered 5xx or slower. Client errors (4xx: a bad token, an
 * unknown channel) are the caller's and count neither way.
 */

/** The SLO's name, as recorded in `freeze.error_budget_exhausted` decisions. */
export const AVAILABILITY_SLO = 'desired-availability';
/** An answer slower than this is bad, whatever its status. */
export const SLO_LATENCY_SECONDS = 1;
/** Route patterns (as Fastify names them) whose answers are events of the SLO. */
export const AVAILABILITY_ROUTES: ReadonlySet<string> = new Set([
  '/api/v1/channels/:env/:channel/index',
  '/api/v1/targets/:id/desired',
]);

/** `good` or `bad` for an event of the SLO; null for an answer that is not one. */
export function availabilityEvent(
  method: string,
  route: string,
  status: number,
  seconds: number,
): 'good' | 'bad' | null {
  if (method !== 'GET' || !AVAILABILITY_ROUTES.has(route)) return null;
  if (status >= 400 && status < 500) return null;
  const answered = (status >= 200 && status < 300) || status === 304;
  return answered && seconds < SLO_LATENCY_SECONDS ? 'good' : 'bad';
}

/** Good and total events counted since the last time they were taken. */
export interface SliCounts {
  good: number;
  total: number;
}
