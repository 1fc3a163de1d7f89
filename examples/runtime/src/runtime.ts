import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { METRICS_CONTENT_TYPE, RuntimeMetrics } from './metrics.ts';
import type { CountedRoute } from './metrics.ts';
import { loadPack, packFingerprint } from './pack-loader.ts';
import type { LoadedPack } from './pack-loader.ts';

export interface RuntimeOptions {
  /** The active pack's directory, usually the agent's `DIR/current` symlink. */
  packDir: string;
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** Listen port (default 0: a free one). */
  port?: number;
  /** How often to look for a new activation, in ms (default 200). */
  pollIntervalMs?: number;
  /** Wall clock for `loadedAt` (default: the system clock). */
  now?: () => Date;
}

export interface RuntimeStatus {
  healthy: boolean;
  /** Why the runtime is unhealthy, else null. */
  problem: string | null;
  pack: LoadedPack | null;
}

export interface Runtime {
  /** e.g. http://127.0.0.1:43121 */
  readonly url: string;
  readonly port: number;
  status(): RuntimeStatus;
  /** Looks at the pack directory now and switches when it changed (the poll does this too). */
  refresh(): Promise<RuntimeStatus>;
  /** Request and error totals over the counted routes (what `/metrics` exposes). */
  totals(): { requests: number; errors: number };
  /** Stops the poll and the listener. Safe to call more than once. */
  close(): Promise<void>;
}

/** What requests read: one immutable pack plus its own lookup counter, swapped as a whole. */
interface ActiveState {
  pack: LoadedPack | null;
  problem: string | null;
  lookups: number;
}

/**
 * Deterministic error pattern: the n-th lookup (from 1) fails when ⌊n·rate⌋ grows, so exactly
 * ⌊n·rate⌋ of the first n lookups fail, evenly spread (rate 0.2: every 5th).
 */
export function lookupFails(n: number, rate: number): boolean {
  if (rate <= 0) return false;
  const epsilon = 1e-9;
  return Math.floor(n * rate + epsilon) > Math.floor((n - 1) * rate + epsilon);
}

function sendJson(response: ServerResponse, status: number, body: unknown, head: boolean): void {
  const text = `${JSON.stringify(body)}\n`;
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  response.end(head ? undefined : text);
}

function packSummary(pack: LoadedPack): Record<string, unknown> {
  return { name: pack.name, version: pack.version, digest: pack.digest };
}

/**
 * Starts the example runtime: it serves lookups from the active pack, exposes `/healthz` and
 * Prometheus `/metrics`, and follows a new activation (the symlink flipping) without a
 * restart. A pack is read whole before it replaces the previous one, so a request never sees
 * half a pack.
 */
export async function createRuntime(options: RuntimeOptions): Promise<Runtime> {
  const now = options.now ?? (() => new Date());
  const pollIntervalMs = options.pollIntervalMs ?? 200;
  const metrics = new RuntimeMetrics();
  let active: ActiveState = { pack: null, problem: 'no pack loaded yet', lookups: 0 };
  let fingerprint: string | null = null;
  let refreshing: Promise<RuntimeStatus> | null = null;
  let closed = false;

  const statusOf = (state: ActiveState): RuntimeStatus => {
    if (state.pack === null) {
      return { healthy: false, problem: state.problem ?? 'no pack loaded', pack: null };
    }
    if (state.pack.settings.failHealth) {
      return {
        healthy: false,
        problem: 'the active pack sets failHealth',
        pack: state.pack,
      };
    }
    return { healthy: true, problem: null, pack: state.pack };
  };

  const refreshOnce = async (): Promise<RuntimeStatus> => {
    const seen = await packFingerprint(options.packDir);
    if (seen !== fingerprint) {
      const result = await loadPack(options.packDir, now);
      const next: ActiveState = result.ok
        ? { pack: result.pack, problem: null, lookups: 0 }
        : { pack: null, problem: result.problem, lookups: 0 };
      // One assignment: a request holds either the previous state or this one.
      active = next;
      fingerprint = seen;
      metrics.countReload();
    }
    return statusOf(active);
  };

  const refresh = (): Promise<RuntimeStatus> => {
    // Serialised: a refresh asked for while one runs starts after it, so it sees newer disk.
    const previous = refreshing ?? Promise.resolve(statusOf(active));
    const next = previous.then(refreshOnce, refreshOnce);
    refreshing = next;
    void next.finally(() => {
      if (refreshing === next) refreshing = null;
    });
    return next;
  };

  const handleLookup = async (
    state: ActiveState,
    rawKey: string,
    response: ServerResponse,
    head: boolean,
  ): Promise<number> => {
    const pack = state.pack;
    if (pack === null) {
      sendJson(response, 503, { error: 'NO_PACK', message: state.problem }, head);
      return 503;
    }
    let key: string;
    try {
      key = decodeURIComponent(rawKey);
    } catch {
      sendJson(response, 400, { error: 'BAD_KEY', message: 'the key is not valid UTF-8' }, head);
      return 400;
    }
    state.lookups += 1;
    const fails = lookupFails(state.lookups, pack.settings.errorRate);
    if (pack.settings.addedLatencyMs > 0) await sleep(pack.settings.addedLatencyMs);
    if (fails) {
      sendJson(
        response,
        500,
        { error: 'INJECTED_FAILURE', message: 'the active pack sets errorRate' },
        head,
      );
      return 500;
    }
    if (!pack.data.has(key)) {
      sendJson(response, 404, { error: 'NOT_FOUND', key, pack: packSummary(pack) }, head);
      return 404;
    }
    sendJson(response, 200, { key, value: pack.data.get(key), pack: packSummary(pack) }, head);
    return 200;
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const started = performance.now();
    // Taken once: everything this request does reads this one pack.
    const state = active;
    const method = request.method ?? 'GET';
    const head = method === 'HEAD';
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    if (method !== 'GET' && method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      sendJson(response, 405, { error: 'METHOD_NOT_ALLOWED' }, head);
      return;
    }
    let route: CountedRoute | null = null;
    let status: number;
    if (path === '/healthz') {
      const current = statusOf(state);
      status = current.healthy ? 200 : 503;
      sendJson(
        response,
        status,
        {
          status: current.healthy ? 'ok' : 'unhealthy',
          problem: current.problem,
          pack: current.pack === null ? null : packSummary(current.pack),
        },
        head,
      );
    } else if (path === '/metrics') {
      const pack = state.pack;
      const text = metrics.render(
        pack === null
          ? null
          : { name: pack.name ?? '', version: pack.version ?? '', digest: pack.digest ?? '' },
        statusOf(state).healthy,
      );
      response.writeHead(200, {
        'content-type': METRICS_CONTENT_TYPE,
        'content-length': Buffer.byteLength(text),
      });
      response.end(head ? undefined : text);
      return;
    } else if (path === '/version') {
      route = 'version';
      const pack = state.pack;
      status = pack === null ? 503 : 200;
      sendJson(
        response,
        status,
        pack === null
          ? { error: 'NO_PACK', message: state.problem }
          : {
              ...packSummary(pack),
              dir: pack.dir,
              loadedAt: pack.loadedAt,
              settings: pack.settings,
            },
        head,
      );
    } else if (path.startsWith('/lookup/') && path.length > '/lookup/'.length) {
      route = 'lookup';
      status = await handleLookup(state, path.slice('/lookup/'.length), response, head);
    } else {
      sendJson(response, 404, { error: 'NOT_FOUND', path }, head);
      return;
    }
    if (route !== null) {
      metrics.observe(route, (performance.now() - started) / 1000, status >= 500);
    }
  };

  await refresh();

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) {
        sendJson(response, 500, { error: 'INTERNAL', message: String(error) }, false);
      } else {
        response.destroy();
      }
    });
  });
  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  const host = address.address.includes(':') ? `[${address.address}]` : address.address;

  const poll = setInterval(() => {
    if (refreshing === null && !closed) void refresh();
  }, pollIntervalMs);
  poll.unref();

  let closing: Promise<void> | null = null;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    status: () => statusOf(active),
    refresh,
    totals: () => metrics.totals(),
    close: () =>
      (closing ??= (async () => {
        closed = true;
        clearInterval(poll);
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await stopped;
        await refreshing?.catch(() => undefined);
      })()),
  };
}
