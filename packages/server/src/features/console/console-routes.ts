import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import {
  errorResponses,
  ConsoleSignInBody,
  ConsoleSignInResponse,
  ConsoleSessionSchema,
} from '@lockgate/api';
import { LockgateError } from '@lockgate/core';
import { actorOf, bearerTokenOf, createAuthHook } from '../../http/auth.ts';
import { READERS } from '../../http/route-roles.ts';
import type { DecisionService } from '../decisions/public.ts';
import type { TokenService } from '../tokens/public.ts';
import { createConsoleEvents } from './console-events.ts';
import type { SignInCodes } from './sign-in-codes.ts';

/**
 * What the console needs beyond the resource routes: exchanging a one-time sign-in code for its
 * token (the only route here without a bearer token), who the token is, and one event stream of
 * every change. Paths are absolute (`/api/v1/...`): this registers on the root app.
 */

export interface ConsoleRoutesOptions {
  apiPrefix: string;
  tokens: TokenService;
  decisions: DecisionService;
  signInCodes: SignInCodes;
  /** Comment lines on the stream keep proxies from closing it (default 15 s). */
  sseHeartbeatMs?: number;
  /** How often the change feed reads the decision log (default 500 ms). */
  eventsPollMs?: number;
  /** How often an open stream checks that its token is still valid (default 5 s). */
  revalidateMs?: number;
}

export function consoleRoutes(app: FastifyInstance, options: ConsoleRoutesOptions): void {
  const { apiPrefix, tokens, signInCodes } = options;
  const heartbeatMs = options.sseHeartbeatMs ?? 15_000;
  const revalidateMs = options.revalidateMs ?? Math.min(heartbeatMs, 5000);
  const events = createConsoleEvents({
    decisions: options.decisions,
    ...(options.eventsPollMs === undefined ? {} : { pollMs: options.eventsPollMs }),
    onError: (error) => app.log.error({ err: error }, 'console event feed failed'),
  });
  const streams = new Set<() => void>();
  app.addHook('preClose', (done) => {
    for (const end of [...streams]) end();
    events.close();
    done();
  });

  app.post<{ Body: Static<typeof ConsoleSignInBody> }>(
    `${apiPrefix}/console/sign-in`,
    {
      // Public: the code is the credential.
      config: { public: true },
      schema: {
        summary: 'Exchange a one-time sign-in code for its token',
        description:
          'The code comes from the sign-in link printed at the first start (valid once, 15 min). ' +
          'UNAUTHORIZED when it is unknown, used or expired.',
        tags: ['console'],
        body: ConsoleSignInBody,
        response: {
          200: ConsoleSignInResponse,
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const token = signInCodes.redeem(request.body.code);
      const actor = token === null ? null : await tokens.authenticate(token);
      if (token === null || actor === null) {
        throw new LockgateError(
          'UNAUTHORIZED',
          'The sign-in code is unknown, used or expired; sign in with a token instead.',
        );
      }
      return { token, session: { name: actor.name, role: actor.role } };
    },
  );

  void app.register((secured: FastifyInstance, _opts: object, done: () => void) => {
    secured.addHook('onRequest', createAuthHook(tokens));

    secured.get(
      `${apiPrefix}/session`,
      {
        config: { roles: READERS },
        schema: {
          summary: 'Who the bearer token is: its name and role',
          tags: ['console'],
          response: { 200: ConsoleSessionSchema, ...errorResponses },
        },
      },
      (request) => {
        const actor = actorOf(request);
        return { name: actor.name, role: actor.role };
      },
    );

    secured.get(
      `${apiPrefix}/events`,
      {
        config: { roles: READERS },
        schema: {
          summary: 'Server-Sent Events: `event: change` for every decision record appended',
          description:
            'Each change names the release, environment and channel it concerns, its kind and ' +
            'rule, so a console refreshes what it shows. A comment line every 15 s keeps it open.',
          tags: ['console'],
          produces: ['text/event-stream'],
          response: errorResponses,
        },
      },
      async (request, reply) => {
        const subscription = events.subscribe((event) => {
          reply.raw.write(`event: change\ndata: ${JSON.stringify(event)}\n\n`);
        });
        await subscription.ready;
        void reply.hijack();
        const raw = reply.raw;
        raw.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache, no-transform',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
        });
        raw.write('retry: 1000\n\nevent: ready\ndata: {}\n\n');
        const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), heartbeatMs);
        // A stream lives no longer than its token: checked again every few seconds.
        const bearer = bearerTokenOf(request.headers.authorization) ?? '';
        const recheck = setInterval(() => {
          void tokens.authenticate(bearer).then(
            (actor) => {
              if (actor !== null) return;
              if (!raw.writableEnded) raw.write(': token revoked\n\n');
              end();
            },
            () => undefined,
          );
        }, revalidateMs);
        const end = (): void => {
          if (!streams.delete(end)) return;
          clearInterval(heartbeat);
          clearInterval(recheck);
          subscription.unsubscribe();
          if (!raw.writableEnded) raw.end();
        };
        streams.add(end);
        request.raw.on('close', end);
        raw.on('close', end);
      },
    );
    done();
  });
}
