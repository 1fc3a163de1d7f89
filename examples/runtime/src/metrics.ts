/**
 * The runtime's Prometheus metrics, written in the text exposition format (version 0.0.4):
 * counters and one histogram, each series labelled by `route`.
 */

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** The application routes that are counted; probes (`/healthz`) and scrapes are not. */
export const COUNTED_ROUTES = ['lookup', 'version'] as const;
export type CountedRoute = (typeof COUNTED_ROUTES)[number];

/** Upper bounds in seconds (Prometheus' default buckets). */
export const DURATION_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

interface RouteSeries {
  requests: number;
  errors: number;
  /** Not cumulative: bucketCounts[i] counts observations in (bucket[i-1], bucket[i]]. */
  bucketCounts: number[];
  overflow: number;
  sum: number;
}

export interface PackInfoLabels {
  name: string;
  version: string;
  digest: string;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatNumber(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  return String(value);
}

export class RuntimeMetrics {
  readonly #routes = new Map<CountedRoute, RouteSeries>();
  #reloads = 0;

  constructor() {
    for (const route of COUNTED_ROUTES) {
      this.#routes.set(route, {
        requests: 0,
        errors: 0,
        bucketCounts: DURATION_BUCKETS.map(() => 0),
        overflow: 0,
        sum: 0,
      });
    }
  }

  /** Counts one answered request; `error` for a server-side failure (HTTP 5xx). */
  observe(route: CountedRoute, seconds: number, error: boolean): void {
    const series = this.#routes.get(route);
    if (series === undefined) return;
    series.requests += 1;
    if (error) series.errors += 1;
    series.sum += seconds;
    const index = DURATION_BUCKETS.findIndex((bound) => seconds <= bound);
    if (index === -1) {
      series.overflow += 1;
    } else {
      series.bucketCounts[index] = (series.bucketCounts[index] ?? 0) + 1;
    }
  }

  countReload(): void {
    this.#reloads += 1;
  }

  /** Totals over every counted route, for callers that do not parse the text. */
  totals(): { requests: number; errors: number } {
    let requests = 0;
    let errors = 0;
    for (const series of this.#routes.values()) {
      requests += series.requests;
      errors += series.errors;
    }
    return { requests, errors };
  }

  /** The exposition text; `pack` adds `lockgate_runtime_pack_info{…} 1` when a pack is loaded. */
  render(pack: PackInfoLabels | null, healthy: boolean): string {
    const lines: string[] = [];
    const routes = [...this.#routes.entries()];

    lines.push(
      '# HELP lockgate_runtime_requests_total Application requests answered (lookups and version), by route.',
      '# TYPE lockgate_runtime_requests_total counter',
    );
    for (const [route, series] of routes) {
      lines.push(`lockgate_runtime_requests_total{route="${route}"} ${series.requests}`);
    }

    lines.push(
      '# HELP lockgate_runtime_errors_total Application requests answered with a server error (HTTP 5xx), by route.',
      '# TYPE lockgate_runtime_errors_total counter',
    );
    for (const [route, series] of routes) {
      lines.push(`lockgate_runtime_errors_total{route="${route}"} ${series.errors}`);
    }

    lines.push(
      '# HELP lockgate_runtime_request_duration_seconds Time to answer an application request, by route.',
      '# TYPE lockgate_runtime_request_duration_seconds histogram',
    );
    for (const [route, series] of routes) {
      let cumulative = 0;
      DURATION_BUCKETS.forEach((bound, i) => {
        cumulative += series.bucketCounts[i] ?? 0;
        lines.push(
          `lockgate_runtime_request_duration_seconds_bucket{route="${route}",le="${formatNumber(bound)}"} ${cumulative}`,
        );
      });
      lines.push(
        `lockgate_runtime_request_duration_seconds_bucket{route="${route}",le="+Inf"} ${series.requests}`,
        `lockgate_runtime_request_duration_seconds_sum{route="${route}"} ${series.sum}`,
        `lockgate_runtime_request_duration_seconds_count{route="${route}"} ${series.requests}`,
      );
    }

    lines.push(
      '# HELP lockgate_runtime_pack_reloads_total Times the runtime switched to another pack state.',
      '# TYPE lockgate_runtime_pack_reloads_total counter',
      `lockgate_runtime_pack_reloads_total ${this.#reloads}`,
      '# HELP lockgate_runtime_healthy 1 when /healthz answers 200, else 0.',
      '# TYPE lockgate_runtime_healthy gauge',
      `lockgate_runtime_healthy ${healthy ? 1 : 0}`,
    );
    if (pack !== null) {
      lines.push(
        '# HELP lockgate_runtime_pack_info The active pack.',
        '# TYPE lockgate_runtime_pack_info gauge',
        `lockgate_runtime_pack_info{name="${escapeLabel(pack.name)}",version="${escapeLabel(pack.version)}",digest="${escapeLabel(pack.digest)}"} 1`,
      );
    }
    return `${lines.join('\n')}\n`;
  }
}
