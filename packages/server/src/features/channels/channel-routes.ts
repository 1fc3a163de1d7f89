import { SELECTOR_OPERATORS } from '@lockgate/core';
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../../http/auth.ts';
import { matchesEtag } from '../../http/etag.ts';
import { HOT_ROUTE_LOG_LEVEL } from '../../http/hot-routes.ts';
import {
  BoundedNumber,
  errorResponses,
  Integer,
  JsonObject,
  Name,
  NAME_PATTERN,
  Reason,
  StringEnum,
  StringMap,
} from '../../http/schemas.ts';
import type { ChannelEvents } from './channel-events.ts';
import type { ChannelService } from './channel-service.ts';

export const DEFAULT_SSE_HEARTBEAT_MS = 15_000;

const Selector = Type.Object(
  {
    matchLabels: Type.Optional(StringMap),
    matchExpressions: Type.Optional(
      Type.Array(
        Type.Object(
          {
            key: Type.String({ minLength: 1, maxLength: 317 }),
            operator: StringEnum(SELECTOR_OPERATORS),
            values: Type.Optional(Type.Array(Type.String({ maxLength: 63 }), { maxItems: 256 })),
          },
          { additionalProperties: false },
        ),
        { maxItems: 64 },
      ),
    ),
  },
  { additionalProperties: false },
);

const CohortBody = Type.Object(
  {
    name: Name,
    selector: Type.Optional(Selector),
    percent: Type.Optional(BoundedNumber({ minimum: 0, maximum: 100 })),
  },
  { additionalProperties: false },
);

export const PinSchema = Type.Object(
  {
    env: Type.String(),
    channel: Type.String(),
    cohort: Type.String({ description: "'_' for the whole channel, else a channel cohort" }),
    selector: Type.Union([JsonObject, Type.Null()]),
    pack: Type.String(),
    reason: Type.String(),
    actor: Type.String(),
    createdAt: Type.String(),
    expiresAt: Type.String(),
  },
  { $id: 'Pin', additionalProperties: false },
);

export const RollbackAuthorizationSchema = Type.Object(
  {
    id: Type.String(),
    env: Type.String(),
    channel: Type.String(),
    pack: Type.String(),
    reason: Type.String(),
    actor: Type.String(),
    createdAt: Type.String(),
    expiresAt: Type.String(),
  },
  { $id: 'RollbackAuthorization', additionalProperties: false },
);

export const ChannelSchema = Type.Object(
  {
    env: Type.String(),
    name: Type.String(),
    plan: Type.String({ description: 'the default plan of new releases' }),
    floor: Type.Union([Type.Integer(), Type.Null()]),
    constraints: Type.Record(Type.String(), Type.String()),
    cohorts: Type.Array(JsonObject),
    indexTtlSeconds: Type.Integer(),
    base: Type.Union([Type.String(), Type.Null()]),
    lkg: Type.Union([Type.String(), Type.Null()]),
    pins: Type.Array(Type.Ref(PinSchema)),
    revoked: Type.Array(Type.String()),
    rollbackAuthorizations: Type.Array(Type.Ref(RollbackAuthorizationSchema)),
    activeRelease: Type.Union([Type.String(), Type.Null()]),
    indexVersion: Type.Integer(),
    updatedAt: Type.String(),
  },
  { $id: 'Channel', additionalProperties: false },
);

const ChannelParams = Type.Object({ env: Name, channel: Name }, { additionalProperties: false });
const PinParams = Type.Object(
  {
    env: Name,
    channel: Name,
    cohort: Type.String({
      pattern: `^_$|${NAME_PATTERN}`,
      description: "'_' for the whole channel, else a channel cohort",
    }),
  },
  { additionalProperties: false },
);

const PutBody = Type.Object(
  {
    plan: Type.Optional(Name),
    floor: Type.Optional(Type.Union([Integer(), Type.Null()])),
    constraints: Type.Optional(StringMap),
    cohorts: Type.Optional(Type.Array(CohortBody, { maxItems: 256 })),
    indexTtlSeconds: Type.Optional(Integer({ minimum: 60, maximum: 30 * 86_400 })),
    reason: Type.Optional(Reason),
    acceptBaseBelowFloor: Type.Optional(
      Type.Boolean({
        description:
          "Confirms a floor above the base's sequence (recorded); FLOOR_ABOVE_BASE without it.",
      }),
    ),
  },
  { additionalProperties: false },
);

const Duration = Type.Union([
  Type.String({ minLength: 1, maxLength: 32, description: 'e.g. 30m, 24h, 7d' }),
  Integer({ minimum: 1, description: 'seconds' }),
]);

const PinBody = Type.Object(
  {
    pack: Type.String({ minLength: 1, maxLength: 512, description: 'digest or name@version' }),
    reason: Reason,
    expiresIn: Type.Optional(Duration),
    expiresAt: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

const ReasonBody = Type.Object({ reason: Reason }, { additionalProperties: false });

const AuthorizationBody = Type.Object(
  {
    pack: Type.String({ minLength: 1, maxLength: 512, description: 'digest or name@version' }),
    reason: Reason,
    expiresIn: Duration,
  },
  { additionalProperties: false },
);

const AuthorizationParams = Type.Object(
  {
    env: Name,
    channel: Name,
    id: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' }),
  },
  { additionalProperties: false },
);

const AuthorizationResponse = Type.Object({
  rollbackAuthorization: Type.Ref(RollbackAuthorizationSchema),
});

const ChannelResponse = Type.Object({ channel: Type.Ref(ChannelSchema) });
const PinResponse = Type.Object({ pin: Type.Ref(PinSchema) });

const DsseEnvelopeSchema = Type.Object(
  {
    payloadType: Type.String(),
    payload: Type.String({ description: 'base64 of the JCS channel index payload' }),
    signatures: Type.Array(
      Type.Object({ keyid: Type.String(), sig: Type.String() }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
);

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

  app.put<{ Params: Static<typeof ChannelParams>; Body: Static<typeof PutBody> }>(
    '/environments/:env/channels/:channel',
    {
      schema: {
        summary: 'Create or change a channel',
        description:
          '201 when created (plan canary, no floor, no constraints or cohorts, index TTL 24 h ' +
          'unless given), 200 when changed or unchanged. Changes are recorded; a new floor or TTL ' +
          're-signs the channel index.',
        tags: ['channels'],
        params: ChannelParams,
        body: PutBody,
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

  app.get<{ Params: Static<typeof ChannelParams> }>(
    '/environments/:env/channels/:channel',
    {
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

  app.put<{ Params: Static<typeof PinParams>; Body: Static<typeof PinBody> }>(
    '/environments/:env/channels/:channel/pins/:cohort',
    {
      schema: {
        summary: 'Pin the channel (cohort `_`) or a cohort to a pack until an expiry',
        description:
          'Exactly one of expiresIn and expiresAt. PIN_INVALID without reason or a future ' +
          'expiry; PACK_REVOKED; RELEASE_BELOW_FLOOR without a rollback authorization.',
        tags: ['channels'],
        params: PinParams,
        body: PinBody,
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

  app.delete<{ Params: Static<typeof PinParams>; Body: Static<typeof ReasonBody> }>(
    '/environments/:env/channels/:channel/pins/:cohort',
    {
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

  app.post<{ Params: Static<typeof ChannelParams>; Body: Static<typeof AuthorizationBody> }>(
    '/environments/:env/channels/:channel/rollback-authorizations',
    {
      schema: {
        summary: 'Allow a pack below the downgrade floor until an expiry',
        description:
          '201 with a new authorization. Identical ones do not pile up: when the channel already ' +
          'has an unexpired authorization of the pack, 200 with that one, its expiry moved to ' +
          'the later of the two (recorded as rollback_authorization.extended when it moved).',
        tags: ['channels'],
        params: ChannelParams,
        body: AuthorizationBody,
        response: {
          200: AuthorizationResponse,
          201: AuthorizationResponse,
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

  app.get<{ Params: Static<typeof ChannelParams> }>(
    '/environments/:env/channels/:channel/rollback-authorizations',
    {
      schema: {
        summary: "The channel's unexpired rollback authorizations, oldest first",
        tags: ['channels'],
        params: ChannelParams,
        response: {
          200: Type.Object({ items: Type.Array(Type.Ref(RollbackAuthorizationSchema)) }),
          ...errorResponses,
        },
      },
    },
    async (request) => ({
      items: await channels.listRollbackAuthorizations(request.params.env, request.params.channel),
    }),
  );

  app.delete<{ Params: Static<typeof AuthorizationParams>; Body: Static<typeof ReasonBody> }>(
    '/environments/:env/channels/:channel/rollback-authorizations/:id',
    {
      schema: {
        summary: 'Revoke a rollback authorization',
        description:
          'Recorded; the channel index is re-signed without it. ROLLBACK_AUTHORIZATION_NOT_FOUND ' +
          'when the channel has no unexpired one with this id; CONFLICT when its pack is below ' +
          "the floor and is the channel's base or a pin's pack (targets would have nothing to run).",
        tags: ['channels'],
        params: AuthorizationParams,
        body: ReasonBody,
        response: { 200: AuthorizationResponse, ...errorResponses },
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

  app.get<{ Params: Static<typeof ChannelParams> }>(
    '/channels/:env/:channel/index',
    {
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

  app.get<{ Params: Static<typeof ChannelParams> }>(
    '/channels/:env/:channel/events',
    {
      logLevel: HOT_ROUTE_LOG_LEVEL,
      schema: {
        summary: 'Server-Sent Events: `event: index` with `{"version": n}` on every change',
        description:
          'The current version is sent first; then each new version, from this replica at once ' +
          'and from others within about a second. A comment line every 15 s keeps it open. The ' +
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
