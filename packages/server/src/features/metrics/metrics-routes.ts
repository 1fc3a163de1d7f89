import { LockgateError } from '@lockgate/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { MetricsAccess } from '../../config.ts';
import { bearerTokenOf } from '../../http/auth.ts';
import { OPERATORS } from '../../http/route-roles.ts';
import type { TokenService } from '../tokens/public.ts';
import type { MetricsService } from './metrics-service.ts';

export const METRICS_PATH = '/metrics';

/** Who may scrape from a non-loopback address (or always, with access `token`). */
const ROLES = OPERATORS;

/** 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return v4 === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/**
 * `GET /metrics` (Prometheus text format) and the hook that times every answer by route pattern
 * (`/api/v1/targets/:id`, never the URL itself, so ids never become labels; `unmatched` for
 * paths no route declares). Access: `open` — anyone; `loopback` (default) — anyone on a
 * loopback address, others with a bearer token of a role in METRICS_ROUTE_ROLES; `token` —
 * always such a token.
 */
export function metricsRoutes(
  app: FastifyInstance,
  options: { metrics: MetricsService; tokens: TokenService; access: MetricsAccess },
): void {
  const { metrics, tokens, access } = options;

  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.observeHttp(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  const authorize = async (request: FastifyRequest): Promise<void> => {
    if (access === 'open') return;
    if (access === 'loopback' && isLoopback(request.socket.remoteAddress)) return;
    const token = bearerTokenOf(request.headers.authorization);
    if (token === null) {
      throw new LockgateError(
        'UNAUTHORIZED',
        'A bearer token is required for /metrics from a non-loopback address.',
      );
    }
    const actor = await tokens.authenticate(token);
    if (actor === null) throw new LockgateError('UNAUTHORIZED', 'The bearer token is not valid.');
    if (!ROLES.includes(actor.role)) {
      throw new LockgateError(
        'FORBIDDEN',
        `The ${actor.role} token ${actor.name} may not call GET ${METRICS_PATH}.`,
        { details: { role: actor.role, route: `GET ${METRICS_PATH}` } },
      );
    }
  };

  app.get(
    METRICS_PATH,
    {
      schema: { hide: true },
      config: { roles: ROLES },
      onRequest: authorize,
    },
    async (_request, reply) => {
      const body = await metrics.render();
      return reply.header('content-type', metrics.contentType).send(body);
    },
  );
}
