import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * Serves the built console (packages/web/dist) at `/`: its files as they are, and its
 * index.html for every other GET that asks for HTML outside the API, so a console URL such as
 * `/releases/rel_1` can be shared and reloaded. Everything else keeps the API's 404/405 answers.
 */

/** Where `npm install` (root `prepare`) builds the console. */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

const NOT_BUILT_PAGE =
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Lockgate</title></head>' +
  '<body><main><h1>Lockgate</h1><p>The console is not built. Run ' +
  '<code>npm run build -w @lockgate/web</code> and reload.</p></main></body></html>';

/** Security headers of the console's HTML: its own scripts only, never framed. */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
} as const;

type NotFoundHandler = (request: FastifyRequest, reply: FastifyReply) => void;

/**
 * Registers the console's files on `app` and returns the not-found handler to install: the
 * console page for client routes, `notFound` for the rest.
 */
export function serveConsole(
  app: FastifyInstance,
  options: { dir?: string; apiPrefix: string; notFound: NotFoundHandler },
): NotFoundHandler {
  const dir = options.dir ?? DEFAULT_CONSOLE_DIR;
  const indexPath = join(dir, 'index.html');
  const page = existsSync(indexPath) ? readFileSync(indexPath, 'utf8') : NOT_BUILT_PAGE;
  if (page !== NOT_BUILT_PAGE) {
    // The console's files are public (a page must load before its user signs in): the routes
    // @fastify/static adds for them are declared so here, before the app's access check sees
    // them (onRoute hooks run in the order they are added; buildApp adds its check after this).
    app.addHook('onRoute', (route) => {
      const config: { rootPath?: unknown; public?: boolean } | undefined = route.config;
      if (typeof config?.rootPath === 'string' && resolve(config.rootPath) === resolve(dir)) {
        config.public = true;
      }
    });
    void app.register(fastifyStatic, {
      root: dir,
      // One route per built file, read at start: unknown paths reach the not-found handler.
      wildcard: false,
      index: false,
      setHeaders: (reply, path) => {
        // Vite names assets by content hash: they never change under their name.
        if (path.includes('/assets/')) {
          void reply.header('cache-control', 'public, max-age=31536000, immutable');
        }
      },
    });
  }
  return (request, reply) => {
    const path = request.url.split('?', 1)[0] ?? request.url;
    const isPage =
      (request.method === 'GET' || request.method === 'HEAD') &&
      path !== options.apiPrefix &&
      !path.startsWith(`${options.apiPrefix}/`) &&
      !/\.[a-z0-9]+$/i.test(path) &&
      (path === '/' || (request.headers.accept ?? '').includes('text/html'));
    if (!isPage) {
      options.notFound(request, reply);
      return;
    }
    void reply.code(200).headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(page);
  };
}
