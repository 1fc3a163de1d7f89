import swagger from '@fastify/swagger';
import { SHARED_SCHEMAS } from '@lockgate/api';
import Fastify from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { systemClock } from './clock.ts';
import type { ServerConfig } from './config.ts';
import { buildRoutes } from './features/builds/index.ts';
import { channelRoutes } from './features/channels/index.ts';
import { decisionRoutes } from './features/decisions/index.ts';
import { environmentRoutes } from './features/environments/index.ts';
import { healthRoutes } from './features/health/index.ts';
import { packRoutes } from './features/packs/index.ts';
import { planRoutes } from './features/plans/index.ts';
import { releaseRoutes } from './features/releases/index.ts';
import { evidenceRoutes } from './features/evidence/index.ts';
import { logRoutes } from './features/log/index.ts';
import { replayRoutes } from './features/replays/index.ts';
import { revocationRoutes } from './features/revocations/index.ts';
import { serverKeyRoutes } from './features/server-keys/index.ts';
import { targetRoutes } from './features/targets/index.ts';
import { tokenRoutes } from './features/tokens/index.ts';
import { trustRoutes } from './features/trust/index.ts';
import { consoleRoutes } from './features/console/index.ts';
import { createSignInCodes } from './features/console/index.ts';
import type { SignInCodes } from './features/console/index.ts';
import { freezeRoutes } from './features/freezes/index.ts';
import { metricsRoutes } from './features/metrics/index.ts';
import { webhookRoutes } from './features/webhooks/index.ts';
import { createAuthHook } from './http/auth.ts';
import { serveConsole } from './http/console-static.ts';
import { clientErrorHandler, createNotFoundHandler, errorHandler } from './http/error-handler.ts';
import { unboundedRequestNumbers } from './http/number-bounds.ts';
import { refuseUnsafeText } from './http/request-text.ts';
import { createRouteTable } from './http/route-table.ts';
import type { DeclaredRoute, RouteTable } from './http/route-table.ts';
import { checkRouteAccess } from './http/route-roles.ts';
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
  /** One-time console sign-in codes (startServer issues one for a generated admin token). */
  signInCodes?: SignInCodes;
  /** The built console (default packages/web/dist). */
  consoleDir?: string;
  /**
   * Compile the validators response schemas' unions are serialized with when the routes are
   * compiled (at `ready`), not on the first answer that needs them: left lazy, the first answer
   * of each such route paid for it, 50 ms on a quiet machine and over 100 ms under load (an
   * operator's first pause, first resume, …). The served process does (startServer; 0.4 s more
   * to start); an app built per test leaves them lazy. The answers are the same either way.
   */
  compileAtStart?: boolean;
}

/** What a feature's routes may ask for: the services (each takes those it needs) and settings. */
export type RouteDeps = Services & {
  /** Largest accepted pack file in bytes. */
  bodyLimit: number;
  /** Milliseconds between SSE heartbeat comments. */
  sseHeartbeatMs?: number;
};

/**
 * The features whose routes answer under the API prefix, behind the token check. Each feature
 * registers its own routes from its own module, each route with the roles that may call it
 * (`config.roles`); adding a feature is adding it here.
 */
const FEATURE_ROUTES: readonly ((app: FastifyInstance, deps: RouteDeps) => void)[] = [
  packRoutes,
  buildRoutes,
  trustRoutes,
  tokenRoutes,
  environmentRoutes,
  channelRoutes,
  planRoutes,
  targetRoutes,
  releaseRoutes,
  replayRoutes,
  revocationRoutes,
  decisionRoutes,
  serverKeyRoutes,
  webhookRoutes,
  freezeRoutes,
  logRoutes,
  evidenceRoutes,
];

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
    ...(deps.compileAtStart === true ? { serializerOpts: { compileValidators: true } } : {}),
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
  const notFound = createNotFoundHandler((path) => routes.methodsOf(path));
  app.setNotFoundHandler(
    serveConsole(app, { apiPrefix: API_PREFIX, notFound, dir: deps.consoleDir }),
  );

  // Every route, as it is added: known for 405 answers, and refused (the app does not start)
  // when it declares neither the roles that may call it nor that it is public
  // (http/route-roles.ts), or when a number of its request schema lacks bounds
  // (http/number-bounds.ts).
  app.addHook('onRoute', (route) => {
    const schema = route.schema as Record<string, unknown> | undefined;
    checkRouteAccess(route.method, route.url, route.config, false);
    routes.add(route.method, route.url, schema, route.config ?? {});
    const unbounded = unboundedRequestNumbers(schema, (id) => app.getSchema(id));
    if (unbounded.length > 0) {
      throw new Error(
        `Route ${String(route.method)} ${route.url} has numbers without bounds: ${unbounded.join(', ')}`,
      );
    }
  });
  // No text the database cannot store as sent reaches a handler (http/request-text.ts).
  app.addHook('preValidation', refuseUnsafeText);
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);

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

  metricsRoutes(app, {
    metrics: services.metrics,
    tokens: services.tokens,
    access: config.metricsAccess,
  });
  healthRoutes(app, { health: services.health });
  consoleRoutes(app, {
    apiPrefix: API_PREFIX,
    tokens: services.tokens,
    decisions: services.decisions,
    signInCodes: deps.signInCodes ?? createSignInCodes(systemClock),
    ...(deps.sseHeartbeatMs === undefined ? {} : { sseHeartbeatMs: deps.sseHeartbeatMs }),
  });

  void app.register(
    (api: FastifyInstance, _opts: object, done: () => void) => {
      api.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, () =>
        app.swagger(),
      );

      void api.register(
        (secured: FastifyInstance, _scopeOpts: object, scopeDone: (error?: Error) => void) => {
          // Under this scope every route names the roles that may call it; the hook enforces them.
          secured.addHook('onRoute', (route) => {
            checkRouteAccess(route.method, route.url, route.config, true);
          });
          secured.addHook('onRequest', createAuthHook(services.tokens));
          // JSON only: a text/plain body is refused with 415 rather than failing the schema.
          secured.removeContentTypeParser('text/plain');
          const routeDeps: RouteDeps = {
            ...services,
            bodyLimit: config.bodyLimit,
            ...(deps.sseHeartbeatMs === undefined ? {} : { sseHeartbeatMs: deps.sseHeartbeatMs }),
          };
          // A route refused as it is added (undeclared roles, unbounded numbers) fails the start
          // with its own message rather than a plugin time-out.
          try {
            for (const register of FEATURE_ROUTES) register(secured, routeDeps);
          } catch (error) {
            scopeDone(error as Error);
            return;
          }
          scopeDone();
        },
      );
      done();
    },
    { prefix: API_PREFIX },
  );

  return app;
}
