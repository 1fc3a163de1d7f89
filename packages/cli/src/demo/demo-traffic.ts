import { DEMO_LOOKUP_KEYS } from './demo-packs.ts';

export interface TrafficEndpoint {
  id: string;
  url: string;
}

export interface TrafficCounts {
  requests: number;
  /** HTTP 2xx */
  ok: number;
  /** HTTP 5xx: what the health gates count as errors */
  serverErrors: number;
  /** other HTTP answers (404, 503 before a pack is loaded, …) */
  otherStatus: number;
  /** no answer at all (connection refused, timeout) */
  unreachable: number;
  /** answers by the pack version that served them */
  byVersion: Record<string, number>;
}

export interface TrafficOptions {
  endpoints: readonly TrafficEndpoint[];
  /** lookups per second per endpoint */
  requestsPerSecond: number;
  /** the loop stops by itself after this long, whatever happens (bound) */
  maxDurationMs: number;
  fetch: typeof fetch;
}

export interface Traffic {
  counts(): TrafficCounts;
  /** Stops sending and waits for the requests in flight. */
  stop(): Promise<TrafficCounts>;
}

function emptyCounts(): TrafficCounts {
  return { requests: 0, ok: 0, serverErrors: 0, otherStatus: 0, unreachable: 0, byVersion: {} };
}

/**
 * Sends lookups to every endpoint at a steady rate until stopped or `maxDurationMs` has passed.
 * At most one lookup per endpoint is in flight: a slow runtime gets fewer, never a pile-up.
 */
export function startTraffic(options: TrafficOptions): Traffic {
  const counts = emptyCounts();
  const inFlight = new Map<string, Promise<void>>();
  const periodMs = Math.max(5, Math.round(1000 / options.requestsPerSecond));
  let tick = 0;

  const lookup = async (endpoint: TrafficEndpoint, key: string): Promise<void> => {
    counts.requests += 1;
    try {
      const response = await options.fetch(`${endpoint.url}/lookup/${key}`, {
        signal: AbortSignal.timeout(5000),
      });
      const body = (await response.json().catch(() => null)) as {
        pack?: { version?: unknown };
      } | null;
      if (response.status >= 200 && response.status < 300) {
        counts.ok += 1;
        const version = body?.pack?.version;
        if (typeof version === 'string') {
          counts.byVersion[version] = (counts.byVersion[version] ?? 0) + 1;
        }
      } else if (response.status >= 500 && response.status !== 503) {
        counts.serverErrors += 1;
      } else {
        counts.otherStatus += 1;
      }
    } catch {
      counts.unreachable += 1;
    }
  };

  const timer = setInterval(() => {
    tick += 1;
    const key = DEMO_LOOKUP_KEYS[tick % DEMO_LOOKUP_KEYS.length] ?? 'alpha';
    for (const endpoint of options.endpoints) {
      if (inFlight.has(endpoint.id)) continue;
      const request = lookup(endpoint, key).finally(() => inFlight.delete(endpoint.id));
      inFlight.set(endpoint.id, request);
    }
  }, periodMs);
  const bound = setTimeout(() => clearInterval(timer), options.maxDurationMs);

  let stopping: Promise<TrafficCounts> | null = null;
  return {
    counts: () => structuredClone(counts),
    stop: () =>
      (stopping ??= (async () => {
        clearInterval(timer);
        clearTimeout(bound);
        await Promise.allSettled([...inFlight.values()]);
        return structuredClone(counts);
      })()),
  };
}
