import { createHash } from 'node:crypto';
import {
  DesiredPackResponse,
  errorResponses,
  limitOf,
  MAX_REPORTS_PER_REQUEST,
  RegisterTargetBody,
  TargetIdParams,
  TargetListQuery,
  TargetListResponse,
  TargetReportBody,
  TargetReportResponse,
  TargetReportsBody,
  TargetReportsResponse,
  TargetResponse,
} from '@lockgate/api';
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../../http/auth.ts';
import { matchesEtag } from '../../http/etag.ts';
import { HOT_ROUTE_LOG_LEVEL } from '../../http/hot-routes.ts';
import type { TargetService } from './target-service.ts';

export function targetRoutes(app: FastifyInstance, options: { targets: TargetService }): void {
  const { targets } = options;

  app.put<{ Params: TargetIdParams; Body: RegisterTargetBody }>(
    '/targets/:id',
    {
      config: { roles: ['admin', 'operator', 'agent'], agentScope: 'target' },
      schema: {
        summary: 'Register or update a target',
        description:
          'Idempotent. 201 when registered, 200 when updated; a move to another channel is ' +
          'recorded. An agent token: FORBIDDEN unless its scope covers the id, the channel and, ' +
          'for a registered target, the channel it is in.',
        tags: ['targets'],
        params: TargetIdParams,
        body: RegisterTargetBody,
        response: { 200: TargetResponse, 201: TargetResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { target, created } = await targets.register(
        request.params.id,
        request.body,
        actorOf(request),
      );
      return reply.code(created ? 201 : 200).send({ target });
    },
  );

  app.get<{ Querystring: TargetListQuery }>(
    '/targets',
    {
      config: { roles: ['admin', 'operator', 'viewer'] },
      schema: {
        summary: 'List targets by id',
        tags: ['targets'],
        querystring: TargetListQuery,
        response: {
          200: TargetListResponse,
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { env, channel, after, limit } = request.query;
      return {
        items: await targets.list({
          ...(env === undefined ? {} : { env }),
          ...(channel === undefined ? {} : { channel }),
          ...(after === undefined ? {} : { after }),
          limit: limitOf(limit),
        }),
      };
    },
  );

  app.get<{ Params: TargetIdParams }>(
    '/targets/:id',
    {
      config: { roles: ['admin', 'operator', 'viewer'] },
      schema: {
        summary: 'One target',
        tags: ['targets'],
        params: TargetIdParams,
        response: { 200: TargetResponse, ...errorResponses },
      },
    },
    async (request) => ({ target: await targets.get(request.params.id) }),
  );

  app.post<{ Params: TargetIdParams; Body: TargetReportBody }>(
    '/targets/:id/reports',
    {
      config: { roles: ['admin', 'operator', 'agent'], agentScope: 'target' },
      logLevel: HOT_ROUTE_LOG_LEVEL,
      schema: {
        summary: 'Report what a target runs and its health',
        description:
          'The server stamps the time. Counters are deltas since the previous report. 202 once ' +
          'the report is committed (reports are written in group commits); 429 ' +
          'REPORTS_BACKLOGGED with Retry-After (seconds) when the server is behind on writing ' +
          'them: send the report again after that long.',
        tags: ['targets'],
        params: TargetIdParams,
        body: TargetReportBody,
        response: {
          202: TargetReportResponse,
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      await targets.report(request.params.id, request.body, actorOf(request));
      return reply.code(202).send({ accepted: true });
    },
  );

  app.post<{ Body: TargetReportsBody }>(
    '/reports',
    {
      config: { roles: ['admin', 'operator', 'agent'], agentScope: 'none' },
      logLevel: HOT_ROUTE_LOG_LEVEL,
      schema: {
        summary: 'Report for many targets at once (a relay forwarding its agents)',
        description:
          `Up to ${MAX_REPORTS_PER_REQUEST} reports, each as POST /targets/{id}/reports takes ` +
          'one plus its target. All are stored in one group commit, in order, or none: a report ' +
          'for an unknown target (TARGET_NOT_FOUND) or one the token scope does not cover ' +
          '(FORBIDDEN) refuses the request, naming it (`reports[i]: …`, details.index). 202 ' +
          'once committed; 429 REPORTS_BACKLOGGED with Retry-After when they do not fit the queue.',
        tags: ['targets'],
        body: TargetReportsBody,
        response: {
          202: TargetReportsResponse,
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const accepted = await targets.reportMany(request.body.reports, actorOf(request));
      return reply.code(202).send({ accepted });
    },
  );

  app.get<{ Params: TargetIdParams }>(
    '/targets/:id/desired',
    {
      config: { roles: ['admin', 'operator', 'viewer', 'agent'], agentScope: 'target' },
      logLevel: HOT_ROUTE_LOG_LEVEL,
      schema: {
        summary: 'What the target should run, from the current channel index',
        description:
          'core desiredPack on the channel index payload. The ETag changes when pack or reason ' +
          'changes; If-None-Match with it answers 304.',
        tags: ['targets'],
        params: TargetIdParams,
        response: {
          200: DesiredPackResponse,
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const desired = await targets.desired(request.params.id, actorOf(request));
      const etag = desiredEtag(desired.pack, desired.reason);
      void reply.header('etag', etag).header('cache-control', 'no-cache');
      if (matchesEtag(request.headers['if-none-match'], etag)) return reply.code(304).send();
      return reply.code(200).send(desired);
    },
  );
}

// A desired answer's ETag depends on its pack and reason only; the few in use are kept.
const etags = new Map<string, string>();
const MAX_KEPT_ETAGS = 1024;

function desiredEtag(pack: string | null, reason: string): string {
  const key = `${pack ?? ''}\n${reason}`;
  let etag = etags.get(key);
  if (etag === undefined) {
    etag = `"${createHash('sha256').update(key).digest('hex').slice(0, 32)}"`;
    if (etags.size >= MAX_KEPT_ETAGS) etags.clear();
    etags.set(key, etag);
  }
  return etag;
}
