import {
  CreateReleaseBody,
  errorResponses,
  limitOf,
  ReleaseCommandBody,
  ReleaseCommandParams,
  ReleaseIdParams,
  ReleaseListQuery,
  ReleaseListResponse,
  ReleaseResponse,
  ReleaseStatusResponse,
  ReleaseTimelineResponse,
  RollbackPreviewQuery,
  RollbackPreviewResponse,
} from '@lockgate/api';
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../../http/auth.ts';
import { idempotencyKeyOf } from '../../http/idempotency-key.ts';
import { READERS } from '../../http/route-roles.ts';
import type { ReleaseService } from './release-service.ts';

export function releaseRoutes(app: FastifyInstance, options: { releases: ReleaseService }): void {
  const { releases } = options;

  app.post<{ Body: CreateReleaseBody }>(
    '/releases',
    {
      config: { roles: ['admin', 'operator'] },
      schema: {
        summary: 'Release a pack into a channel',
        description:
          'The controller takes it from `requested`. RELEASE_CONFLICT when a release is active in ' +
          'the channel; PACK_NOT_FOUND, PLAN_NOT_FOUND, CHANNEL_NOT_FOUND. Honours Idempotency-Key.',
        tags: ['releases'],
        body: CreateReleaseBody,
        response: { 201: ReleaseResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const release = await releases.create(
        request.body,
        actorOf(request).name,
        idempotencyKeyOf(request),
      );
      return reply.code(201).send({ release });
    },
  );

  app.get<{ Querystring: ReleaseListQuery }>(
    '/releases',
    {
      config: { roles: ['admin', 'operator', 'viewer'] },
      schema: {
        summary: 'List releases, newest first',
        tags: ['releases'],
        querystring: ReleaseListQuery,
        response: {
          200: ReleaseListResponse,
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { env, channel, state, limit } = request.query;
      return {
        items: await releases.list({
          ...(env === undefined ? {} : { env }),
          ...(channel === undefined ? {} : { channel }),
          ...(state === undefined ? {} : { state }),
          limit: limitOf(limit),
        }),
      };
    },
  );

  app.get<{ Params: ReleaseIdParams }>(
    '/releases/:id',
    {
      config: { roles: ['admin', 'operator', 'viewer'] },
      schema: {
        summary: 'One release, and why it is (not) moving',
        description:
          '`why` (null once the release ended) is computed now from the context the controller ' +
          'reads: the blocking freeze window, the stage and how many targets it reaches, the ' +
          "stage's gates against their thresholds, agent refusals of the pack (codes and " +
          'counts), pending approvals, verification; `blockers` says it in short sentences.',
        tags: ['releases'],
        params: ReleaseIdParams,
        response: { 200: ReleaseStatusResponse, ...errorResponses },
      },
    },
    async (request) => releases.status(request.params.id),
  );

  app.post<{ Params: ReleaseCommandParams; Body: ReleaseCommandBody }>(
    '/releases/:id/:command',
    {
      config: { roles: ['admin', 'operator'] },
      schema: {
        summary: 'An operator command: pause resume abort promote approve reject retry rollback',
        description:
          'Through core applyCommand, recorded with the token name as actor. ' +
          'RELEASE_STATE_INVALID, APPROVAL_SELF, APPROVAL_DUPLICATE, FREEZE_ACTIVE, ' +
          'ROLLBACK_TARGET_MISSING. Honours Idempotency-Key.',
        tags: ['releases'],
        params: ReleaseCommandParams,
        body: ReleaseCommandBody,
        response: { 200: ReleaseResponse, ...errorResponses },
      },
    },
    async (request) => ({
      release: await releases.command(
        request.params.id,
        request.params.command,
        request.body,
        actorOf(request).name,
        idempotencyKeyOf(request),
      ),
    }),
  );

  app.get<{ Params: ReleaseIdParams }>(
    '/releases/:id/timeline',
    {
      config: { roles: ['admin', 'operator', 'viewer'] },
      schema: {
        summary: "The release's decision records, in order",
        tags: ['releases'],
        params: ReleaseIdParams,
        response: {
          200: ReleaseTimelineResponse,
          ...errorResponses,
        },
      },
    },
    async (request) => ({ items: await releases.timeline(request.params.id) }),
  );

  app.get<{ Params: ReleaseIdParams; Querystring: RollbackPreviewQuery }>(
    '/releases/:id/rollback-preview',
    {
      config: { roles: READERS },
      schema: {
        summary: 'What a rollback would do now: refusals, and which targets move to which pack',
        description:
          "Writes nothing. scope=rollback (default): the release's own rollback through core " +
          'applyCommand. scope=pin: a whole-channel pin of `to` (default the LKG), how a release ' +
          'that ended is taken back. The impact is core indexImpact (desiredPack per target) ' +
          'between the current index and the one the change would sign. RELEASE_NOT_FOUND; ' +
          'why the change would be refused (codes and sentences) is in `refusals`.',
        tags: ['releases'],
        params: ReleaseIdParams,
        querystring: RollbackPreviewQuery,
        response: { 200: RollbackPreviewResponse, ...errorResponses },
      },
    },
    async (request) =>
      releases.rollbackPreview(
        request.params.id,
        {
          scope: request.query.scope ?? 'rollback',
          ...(request.query.to === undefined ? {} : { to: request.query.to }),
        },
        actorOf(request).name,
      ),
  );
}
