import {
  AuthorizeRollbackBody,
  ChannelParams,
  ChannelResponse,
  DsseEnvelopeSchema,
  errorResponses,
  PinParams,
  PinResponse,
  PutChannelBody,
  ReasonBody,
  RollbackAuthorizationListResponse,
  RollbackAuthorizationParams,
  RollbackAuthorizationResponse,
  SetPinBody,
} from '@lockgate/api';
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../../http/auth.ts';
import { matchesEtag } from '../../http/etag.ts';
import { HOT_ROUTE_LOG_LEVEL } from '../../http/hot-routes.ts';
import type { ChannelEvents } from './channel-events.ts';
import type { ChannelService } from './channel-service.ts';

export const DEFAULT_SSE_HEARTBEAT_MS = 15_000;

export interface ChannelRoutesOptions {
  channels: ChannelService;
  events: ChannelEvents;
  /** Comment lines on SSE streams keep proxies from closing them (default 15 s). */
  sseHeartbeatMs?: number;
}

export function channelRoutes(app: FastifyInstance, options: ChannelRoutesOptions): void {
  const { channels, events } = options;
  const heartbeatMs = options.sseHeartbeatMs ?? DEFAULT_SSE_HEARTBEAT_MS;
  // Open SSE streams, ended when the app closes (they would keep the server open).
  const streams = new Set<() => void>();
  app.addHook('preClose', (done) => {
    for (const end of [...streams]) end();
    done();
  });

  app.put<{ Params: ChannelParams; Body: PutChannelBody }>(
    '/environments/:env/channels/:channel',
    {
      config: { roles: ['admin', 'operator'] },
      schema: {
        summary: 'Create or change a channel',
        description:
          '201 when created (plan canary, no floor, no constraints or cohorts, index TTL 24 h ' +
          'unless given), 200 when changed or unchanged. Changes are recorded; a new floor or TTL ' +
          're-signs the channel index.',
        tags: ['channels'],
        params: ChannelParams,
        body: PutChannelBody,
        response: { 200: ChannelResponse, 201: ChannelResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { channel, created } = await channels.put(
        request.params.env,
        request.params.channel,
        request.body,
        actorOf(request).name,
      );
      return reply.code(created ? 201 : 200).send({ channel });
    },
  );

  app.get<{ Params: ChannelParams }>(
    '/environments/:env/channels/:channel',
    {
      config: { roles: ['admin', 'operator', 'viewer'] },
      schema: {
        summary: 'A channel',
        tags: ['channels'],
        params: ChannelParams,
        response: { 200: ChannelResponse, ...errorResponses },
      },
    },
    async (request) => ({
      channel: await channels.get(request.params.env, request.params.channel),
    }),
  );

  app.put<{ Params: PinParams; Body: SetPinBody }>(
    '/environments/:env/channels/:channel/pins/:cohort',
    {
      config: { roles: ['admin', 'operator'] },
      schema: {
        summary: 'Pin the channel (cohort `_`) or a cohort to a pack until an expiry',
        description:
          'Exactly one of expiresIn and expiresAt. PIN_INVALID without reason or a future ' +
          'expiry; PACK_REVOKED; RELEASE_BELOW_FLOOR without a rollback authorization.',
        tags: ['channels'],
        params: PinParams,
        body: SetPinBody,
        response: { 200: PinResponse, ...errorResponses },
      },
    },
    async (request) => {
      const { env, channel, cohort } = request.params;
      return {
        pin: await channels.setPin(env, channel, cohort, request.body, actorOf(request).name),
      };
    },
  );

  app.delete<{ Params: PinParams; Body: ReasonBody }>(
    '/environments/:env/channels/:channel/pins/:cohort',
    {
      config: { roles: ['admin', 'operator'] },
      schema: {
        summary: 'Remove a pin',
        tags: ['channels'],
        params: PinParams,
        body: ReasonBody,
        response: { 200: PinResponse, ...errorResponses },
      },
    },
    async (request) => {
      const { env, channel, cohort } = request.params;
      return {
        pin: await channels.clearPin(
          env,
          channel,
          cohort,
          request.body.reason,
          actorOf(request).name,
        ),
      };
    },
  );

  app.post<{ Params: ChannelParams; Body: AuthorizeRollbackBody }>(
    '/environments/:env/channels/:channel/rollback-authorizations',
    {
      config: { roles: ['admin', 'operator'] },
      schema: {
        summary: 'Allow a pack below the downgrade floor until an expiry',
        description:
          '201 with a new authorization. Identical ones do not pile up: when the channel already ' +
          'has an unexpired authorization of the pack, 200 with that one, its expiry moved to ' +
          'the later of the two (recorded as rollback_authorization.extended when it moved).',
        tags: ['channels'],
        params: ChannelParams,
        body: AuthorizeRollbackBody,
        response: {
          200: RollbackAuthorizationResponse,
          201: RollbackAuthorizationResponse,
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { rollbackAuthorization, created } = await channels.authorizeRollback(
        request.params.env,
        request.params.channel,
        request.body,
        actorOf(request).name,
      );
      return reply.code(created ? 201 : 200).send({ rollbackAuthorization });
    },
  );

  app.get<{ Params: ChannelParams }>(
    '/environments/:env/channels/:channel/rollback-authorizations',
    {
      config: { roles: ['admin', 'operator', 'viewer'] },
      schema: {
        summary: "The channel's unexpired rollback authorizations, oldest first",
        tags: ['channels'],
        params: ChannelParams,
        response: {
          200: RollbackAuthorizationListResponse,
          ...errorResponses,
        },
      },
    },
    async (request) => ({
      items: await channels.listRollbackAuthorizations(request.params.env, request.params.channel),
    }),
  );

  app.delete<{ Params: RollbackAuthorizationParams; Body: ReasonBody }>(
    '/environments/:env/channels/:channel/rollback-authorizations/:id',
    {
      config: { roles: ['admin', 'operator'] },
      schema: {
        summary: 'Revoke a rollback authorization',
        description:
          'Recorded; the channel index is re-signed without it. ROLLBACK_AUTHORIZATION_NOT_FOUND ' +
          'when the channel has no unexpired one with this id; CONFLICT when its pack is below ' +
          "the floor and is the channel's base or a pin's pack (targets would have nothing to run).",
        tags: ['channels'],
        params: RollbackAuthorizationParams,
        body: ReasonBody,
        response: { 200: RollbackAuthorizationResponse, ...errorResponses },
      },
    },
    async (request) => {
      const { env, channel, id } = request.params;
      return {
        rollbackAuthorization: await channels.revokeRollbackAuthorization(
          env,
          channel,
          id,
          request.body.reason,
          actorOf(request).name,
        ),
      };
    },
  );

  app.get<{ Params: ChannelParams }>(
    '/channels/:env/:channel/index',
    {
      config: { roles: ['admin', 'operator', 'viewer', 'agent'], agentScope: 'channel' },
      logLevel: HOT_ROUTE_LOG_LEVEL,
      schema: {
        summary: 'The signed channel index (DSSE envelope)',
        description:
          '`ETag: "<version>"`; `If-None-Match` with it answers 304. An agent token: FORBIDDEN ' +
          'outside its scope.',
        tags: ['channels'],
        params: ChannelParams,
        response: { 200: DsseEnvelopeSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { version, envelope } = await channels.index(
        request.params.env,
        request.params.channel,
      );
      const etag = `"${version}"`;
      void reply.header('etag', etag).header('cache-control', 'no-cache');
      if (matchesEtag(request.headers['if-none-match'], etag)) return reply.code(304).send();
      return reply.code(200).send(envelope);
    },
  );

  app.get<{ Params: ChannelParams }>(
    '/channels/:env/:channel/events',
    {
      config: { roles: ['admin', 'operator', 'viewer', 'agent'], agentScope: 'channel' },
      logLevel: HOT_ROUTE_LOG_LEVEL,
      schema: {
        summary: 'Server-Sent Events: `event: index` with `{"version": n}` on every change',
        description:
          'The current version is sent first; then each new version, from this replica at once ' +
          'and from others as they commit (PostgreSQL; within about a second while a replica is not ' +
          'listening). A comment line every 15 s keeps it open. The ' +
          'stream ends when its token is revoked. An agent token: FORBIDDEN outside its scope.',
        tags: ['channels'],
        params: ChannelParams,
        produces: ['text/event-stream'],
        response: errorResponses,
      },
    },
    async (request, reply) => {
      const key = { env: request.params.env, name: request.params.channel };
      const { tokenId } = actorOf(request);
      const { version } = await channels.index(key.env, key.name);
      void reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      const send = (next: number): void => {
        raw.write(`event: index\ndata: ${JSON.stringify({ version: next })}\n\n`);
      };
      raw.write('retry: 2000\n\n');
      send(version);
      let unsubscribe = (): void => undefined;
      const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), heartbeatMs);
      const end = (): void => {
        if (!streams.delete(end)) return;
        clearInterval(heartbeat);
        unsubscribe();
        if (!raw.writableEnded) raw.end();
      };
      streams.add(end);
      // A stream lives no longer than its token: revoking it ends the stream.
      unsubscribe = events.subscribe(key, version, send, {
        tokenId,
        end: () => {
          if (!raw.writableEnded) raw.write(': token revoked\n\n');
          end();
        },
      });
      request.raw.on('close', end);
      raw.on('close', end);
    },
  );
}
