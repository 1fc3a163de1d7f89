/**
 * Asks Prometheus what the current stage's prometheus gates query, before the controller's
 * transaction (no network call is made while a channel is locked). core decide then judges the
 * recorded answers (core prometheus-gate.ts); the answers go into the release context, so the
 * decision's context digest and its gate results carry the query, the answer and the time.
 */
import { isPrometheusGate, renderGateQuery } from '@lockgate/core';
import type { PrometheusAnswer, PrometheusSeries } from '@lockgate/core';
import type { BlobStore } from '../../blob-store.ts';
import type { StoresOf } from '../../stores.ts';
import { loadReleaseContext } from '../releases/public.ts';

/** The stores this module uses, and no others. */
type UsedStores = StoresOf<
  | 'builds'
  | 'channels'
  | 'environments'
  | 'packs'
  | 'releases'
  | 'revocations'
  | 'targets'
  | 'trust'
  | 'statements'
>;

export const PROMETHEUS_TIMEOUT_MS = 5000;
/** Series kept from one answer; a gate query should aggregate to a few. */
export const MAX_ANSWER_SERIES = 100;

export type FetchFn = (input: string, init?: RequestInit) => Promise<Response>;

function failed(query: string, at: Date, error: string): PrometheusAnswer {
  return { query, at: at.toISOString(), status: 'error', series: [], error };
}

/** One instant query at `at`: GET {base}/api/v1/query. Never throws; failures are answers. */
export async function queryPrometheus(
  baseUrl: string,
  query: string,
  at: Date,
  fetchFn: FetchFn = fetch,
  timeoutMs = PROMETHEUS_TIMEOUT_MS,
): Promise<PrometheusAnswer> {
  const url = new URL(`${baseUrl}/api/v1/query`);
  url.searchParams.set('query', query);
  url.searchParams.set('time', String(at.getTime() / 1000));
  let body: {
    status?: string;
    error?: string;
    errorType?: string;
    data?: { resultType?: string; result?: unknown };
  };
  try {
    const response = await fetchFn(url.toString(), { signal: AbortSignal.timeout(timeoutMs) });
    body = (await response.json()) as typeof body;
    if (!response.ok || body.status !== 'success') {
      return failed(
        query,
        at,
        `${response.status} ${body.errorType ?? ''}: ${body.error ?? 'query failed'}`.trim(),
      );
    }
  } catch (error) {
    return failed(query, at, `Prometheus did not answer: ${(error as Error).message}`);
  }
  const result = body.data?.result;
  let series: PrometheusSeries[];
  switch (body.data?.resultType) {
    case 'vector':
      series = (result as { metric: Record<string, string>; value: [number, string] }[]).map(
        (s) => ({ labels: s.metric, value: String(s.value[1]) }),
      );
      break;
    case 'scalar':
      series = [{ labels: {}, value: String((result as [number, string])[1]) }];
      break;
    default:
      return failed(
        query,
        at,
        `the query returned a ${body.data?.resultType ?? 'missing'} result; a gate needs an instant vector or a scalar`,
      );
  }
  if (series.length > MAX_ANSWER_SERIES) {
    return failed(
      query,
      at,
      `the query returned ${series.length} series, more than ${MAX_ANSWER_SERIES}; aggregate it`,
    );
  }
  return { query, at: at.toISOString(), status: 'success', series };
}

/**
 * The answers to the prometheus gates of a release's current stage at `now`, or none when the
 * release is not in a started stage with such gates. Without a configured Prometheus URL every
 * gate gets an error answer (inconclusive).
 */
export function createPrometheusAnswers(deps: {
  stores: UsedStores;
  blobs: BlobStore;
  prometheusUrl: string | null;
  fetch?: FetchFn;
}): (releaseId: string, now: Date) => Promise<PrometheusAnswer[]> {
  const { stores, blobs, prometheusUrl } = deps;
  return async (releaseId, now) => {
    const stored = await stores.releases.find(releaseId);
    const release = stored?.release;
    if (release === undefined || (release.state !== 'rolling' && release.state !== 'paused')) {
      return [];
    }
    if (release.stageStartedAt === null) return [];
    const gates = (release.plan.stages[release.stageIndex]?.gates ?? []).filter(isPrometheusGate);
    if (gates.length === 0) return [];
    const channel = await stores.channels.find(release.env, release.channel);
    if (channel === null) return [];
    const context = await loadReleaseContext(stores, blobs, release, channel, now);
    const scope = {
      release: release.id,
      pack: release.pack,
      env: release.env,
      channel: release.channel,
      targets: context.stageTargets,
    };
    const queries = new Set<string>();
    for (const gate of gates) {
      const query = renderGateQuery(gate, scope);
      if (query !== null) queries.add(query);
    }
    return Promise.all(
      [...queries].map((query) =>
        prometheusUrl === null
          ? Promise.resolve(
              failed(query, now, 'no Prometheus URL is configured (LOCKGATE_PROMETHEUS_URL)'),
            )
          : queryPrometheus(prometheusUrl, query, now, deps.fetch),
      ),
    );
  };
}
