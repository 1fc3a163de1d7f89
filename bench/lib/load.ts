import { Agent, request } from 'node:http';

/**
 * A small keep-alive HTTP load generator on loopback: `connections` requests in flight, each
 * connection sending the next request as soon as the previous answer is read, until `seconds`
 * have passed or `maxRequests` were sent. Bounded in count and time, never in a loop of its own.
 */
export interface LoadOptions {
  url: string;
  method?: 'GET' | 'POST' | 'PUT';
  /** Called per request: its path (after the origin of url) and headers; lets a run rotate ids. */
  next?: (n: number) => { path: string; headers?: Record<string, string>; body?: string };
  headers?: Record<string, string>;
  body?: string;
  connections?: number;
  seconds?: number;
  maxRequests?: number;
  /** Warm-up requests per connection, not counted. */
  warmup?: number;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Answers by status code. */
  statuses: Record<number, number>;
  errors: number;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const base = new URL(options.url);
  if (base.hostname !== '127.0.0.1' && base.hostname !== 'localhost' && base.hostname !== '[::1]') {
    throw new Error(`The load generator runs on loopback only, not ${base.hostname}.`);
  }
  const connections = options.connections ?? 32;
  const seconds = options.seconds ?? 5;
  const maxRequests = options.maxRequests ?? 5_000_000;
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const method = options.method ?? 'GET';
  let counter = 0;
  const one = (): Promise<{ status: number; ms: number }> => {
    const n = counter++;
    const spec = options.next?.(n) ?? { path: base.pathname + base.search };
    const body = spec.body ?? options.body;
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: base.hostname,
          port: base.port,
          path: spec.path,
          method,
          agent,
          headers: {
            ...options.headers,
            ...spec.headers,
            ...(body === undefined
              ? {}
              : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
          },
        },
        (res) => {
          res.on('data', () => undefined);
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  };

  const warmup = options.warmup ?? 20;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      for (let i = 0; i < warmup; i++) await one().catch(() => undefined);
    }),
  );

  const latencies = new Float64Array(Math.min(maxRequests, 2_000_000));
  let recorded = 0;
  let sent = 0;
  let errors = 0;
  const statuses: Record<number, number> = {};
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (sent < maxRequests && performance.now() < deadline) {
        sent++;
        try {
          const { status, ms } = await one();
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (recorded < latencies.length) latencies[recorded++] = ms;
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  const sorted = latencies.subarray(0, recorded).sort();
  return {
    requests: recorded,
    seconds: elapsed,
    perSecond: recorded / elapsed,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    statuses,
    errors,
  };
}

export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}
