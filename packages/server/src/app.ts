import swagger from '@fastify/swagger';
import Fastify from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { ServerConfig } from './config.ts';
import { buildRoutes, BuildRecordSchema } from './features/builds/build-routes.ts';
import {
  ChannelSchema,
  channelRoutes,
  PinSchema,
  RollbackAuthorizationSchema,
} from './features/channels/channel-routes.ts';
import { DecisionRecordSchema, decisionRoutes } from './features/decisions/decision-routes.ts';
import {
  EnvironmentSchema,
  environmentRoutes,
  FreezeWindowSchema,
} from './features/environments/environment-routes.ts';
import { evidenceRoutes } from './features/evidence/evidence-routes.ts';
import { healthRoutes } from './features/health/health-routes.ts';
import { logRoutes } from './features/log/log-routes.ts';
import { packRoutes, PackSummarySchema } from './features/packs/pack-routes.ts';
import { PlanSchema, planRoutes } from './features/plans/plan-routes.ts';
import { ReleaseSchema, releaseRoutes } from './features/releases/release-routes.ts';
import { revocationRoutes } from './features/revocations/revocation-routes.ts';
import { serverKeyRoutes } from './features/server-keys/server-key-routes.ts';
import { TargetSchema, targetRoutes } from './features/targets/target-routes.ts';
import { TokenSchema, tokenRoutes } from './features/tokens/token-routes.ts';
import { trustRoutes, TrustedKeySchema } from './features/trust/trust-routes.ts';
import { createAuthHook } from './http/auth.ts';
import { clientErrorHandler, createNotFoundHandler, errorHandler } from './http/error-handler.ts';
import { unboundedRequestNumbers } from './http/number-bounds.ts';
import { refuseUnsafeText } from './http/request-text.ts';
import { createRouteTable } from './http/route-table.ts';
import type { DeclaredRoute, RouteTable } from './http/route-table.ts';
import { ErrorSchema } from './http/schemas.ts';
import type { Services } from './services.ts';

export const API_PREFIX = '/api/v1';
export const OPENAPI_PATH = `${API_PREFIX}/openapi.json`;

/** JSON bodies are small; only pack uploads may use the configured (large) body limit. */
const JSON_BODY_LIMIT = 1024 * 1024;

const MAX_PARAM_LENGTH = 1024;

export interface AppDeps {
  config: ServerConfig;
  services: Services;
  /** A pino logger to use instead of one made from config.logLevel. */
  logger?: FastifyBaseLogger;
  /** Milliseconds between SSE heartbeat comments (default 15 s). */
  sseHeartbeatMs?: number;
}

const routeTables = new WeakMap<FastifyInstance, RouteTable>();

/** Every route of an app made by buildApp, as declared, one entry per method. */
export function routesOf(app: FastifyInstance): DeclaredRoute[] {
  return routeTables.get(app)?.list() ?? [];
}

/** The Fastify app with every route, not listening; call `listen` (or `inject` in tests). */
export function buildApp(deps: AppDeps): FastifyInstance {
  const { config, services } = deps;
  const app: FastifyInstance = Fastify({
    ...(deps.logger === undefined
      ? { logger: { level: config.logLevel } }
      : { loggerInstance: deps.logger }),
    bodyLimit: Math.min(JSON_BODY_LIMIT, config.bodyLimit),
    return503OnClosing: true,
    // Path parameters up to 1024 characters reach the route schemas (target ids go to 255,
    // `name@version` pack references further); longer ones are 400 BAD_REQUEST.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    ajv: {
      // Refuse unknown fields and wrong types instead of silently stripping or coercing them.
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false },
    },
    // Errors raised before a route is found (a malformed URL) and by Node's HTTP parser get
    // the error shape of every other answer.
    frameworkErrors: (error, request, reply) => errorHandler(error, request, reply),
    clientErrorHandler,
  });

  const routes = createRouteTable();
  routeTables.set(app, routes);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(createNotFoundHandler((path) => routes.methodsOf(path)));

  // Every route, as it is added: known for 405 answers, and refused (the app does not start)
  // when a number of its request schema lacks bounds (http/number-bounds.ts).
  app.addHook('onRoute', (route) => {
    const schema = route.schema as Record<string, unknown> | undefined;
    routes.add(route.method, route.url, schema);
    const unbounded = unboundedRequestNumbers(schema, (id) => app.getSchema(id));
    if (unbounded.length > 0) {
      throw new Error(
        `Route ${String(route.method)} ${route.url} has numbers without bounds: ${unbounded.join(', ')}`,
      );
    }
  });
  // No text the database cannot store as sent reaches a handler (http/request-text.ts).
  app.addHook('preValidation', refuseUnsafeText);
  for (const schema of [
    ErrorSchema,
    PackSummarySchema,
    BuildRecordSchema,
    TrustedKeySchema,
    TokenSchema,
    EnvironmentSchema,
    FreezeWindowSchema,
    PinSchema,
    RollbackAuthorizationSchema,
    ChannelSchema,
    PlanSchema,
    TargetSchema,
    ReleaseSchema,
    DecisionRecordSchema,
  ]) {
    app.addSchema(schema);
  }

  void app.register(swagger, {
    // Name components after the schemas' $id (PackSummary, BuildRecord, ...), not def-N.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json['$id'] === 'string' ? json['$id'] : `def-${i}`,
    },
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Lockgate API',
        version: 'v1',
        description:
          'Push signed packs, report builds, manage trusted build keys, API tokens, environments, ' +
          'channels, targets, plans, releases, pins and revocations, and serve signed channel ' +
          'indexes.',
      },
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } },
      },
      security: [{ bearerAuth: [] }],
    },
  });

  healthRoutes(app, { health: services.health });

  void app.register(
    (api: FastifyInstance, _opts: object, done: () => void) => {
      api.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());

      void api.register((secured: FastifyInstance, _scopeOpts: object, scopeDone: () => void) => {
        secured.addHook('onRequest', createAuthHook(services.tokens, API_PREFIX));
        // JSON only: a text/plain body is refused with 415 rather than failing the schema.
        secured.removeContentTypeParser('text/plain');
        packRoutes(secured, { packs: services.packs, bodyLimit: config.bodyLimit });
        buildRoutes(secured, { builds: services.builds });
        trustRoutes(secured, { trust: services.trust });
        tokenRoutes(secured, { tokens: services.tokens });
        environmentRoutes(secured, { environments: services.environments });
        channelRoutes(secured, {
          channels: services.channels,
          events: services.events,
          ...(deps.sseHeartbeatMs === undefined ? {} : { sseHeartbeatMs: deps.sseHeartbeatMs }),
        });
        planRoutes(secured, { plans: services.plans });
        targetRoutes(secured, { targets: services.targets });
        releaseRoutes(secured, { releases: services.releases });
        revocationRoutes(secured, { revocations: services.revocations });
        decisionRoutes(secured, { decisions: services.decisions });
        serverKeyRoutes(secured, { serverKeys: services.serverKeys });
        logRoutes(secured, { log: services.log });
        evidenceRoutes(secured, { evidence: services.evidence });
        scopeDone();
      });
      done();
    },
    { prefix: API_PREFIX },
  );

  return app;
}
