import {
  errorResponses,
  limitOf,
  PACK_MEDIA_TYPES,
  PackDigestParams,
  PackListQuery,
  PackListResponse,
  PackManifestResponse,
  PackRefParams,
  PushPackBody,
  PushPackResponse,
} from '@lockgate/api';
import type { FastifyInstance, FastifySchemaCompiler } from 'fastify';
import { actorOf } from '../../http/auth.ts';
import { matchesEtag } from '../../http/etag.ts';
import { resolveRange } from '../../http/range.ts';
import type { PackService } from './pack-service.ts';

/** The upload body is raw bytes: its schema documents it, this check enforces it. */
const packFileValidator: FastifySchemaCompiler<unknown> = () => (value: unknown) =>
  Buffer.isBuffer(value) && value.length > 0
    ? { value }
    : { error: new Error('body must be a non-empty pack file') };

export interface PackRoutesOptions {
  packs: PackService;
  /** Largest accepted pack file in bytes. */
  bodyLimit: number;
}

export function packRoutes(app: FastifyInstance, options: PackRoutesOptions): void {
  const { packs, bodyLimit } = options;

  // The upload lives in its own scope: it accepts pack media types only, not JSON.
  void app.register((upload: FastifyInstance, _opts: object, done: () => void) => {
    upload.removeAllContentTypeParsers();
    upload.addContentTypeParser(
      PACK_MEDIA_TYPES,
      { parseAs: 'buffer', bodyLimit },
      (_request, body, parsed) => parsed(null, body),
    );
    upload.post(
      '/packs',
      {
        config: { roles: ['admin', 'operator'] },
        bodyLimit,
        validatorCompiler: packFileValidator,
        schema: {
          summary: 'Push a pack file',
          description:
            'Verifies the pack against the trusted build keys and its build record, then stores it. ' +
            '201 when stored, 200 when the same digest was already stored.',
          tags: ['packs'],
          consumes: PACK_MEDIA_TYPES,
          body: PushPackBody,
          response: {
            200: PushPackResponse,
            201: PushPackResponse,
            ...errorResponses,
          },
        },
      },
      async (request, reply) => {
        const { pack, created } = await packs.push(request.body as Buffer, actorOf(request).name);
        return reply.code(created ? 201 : 200).send(pack);
      },
    );
    done();
  });

  app.get<{ Querystring: PackListQuery }>(
    '/packs',
    {
      config: { roles: ['admin', 'operator', 'viewer'] },
      schema: {
        summary: 'List packs, newest first',
        tags: ['packs'],
        querystring: PackListQuery,
        response: {
          200: PackListResponse,
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const query = request.query;
      const items = await packs.list({
        ...(query.name === undefined ? {} : { name: query.name }),
        limit: limitOf(query.limit),
      });
      return { items };
    },
  );

  app.get<{ Params: PackRefParams }>(
    '/packs/:ref/manifest',
    {
      config: { roles: ['admin', 'operator', 'viewer'] },
      schema: {
        summary: 'A pack manifest by digest or name@version',
        tags: ['packs'],
        params: PackRefParams,
        response: {
          200: PackManifestResponse,
          ...errorResponses,
        },
      },
    },
    async (request) => packs.manifest(request.params.ref),
  );

  app.get<{ Params: PackDigestParams }>(
    '/packs/:digest',
    {
      config: { roles: ['admin', 'operator', 'viewer', 'agent'], agentScope: 'none' },
      schema: {
        summary: 'Download a pack file',
        description: 'Honours one `Range: bytes=a-b` (206, or 416 when unsatisfiable).',
        tags: ['packs'],
        params: PackDigestParams,
        produces: ['application/octet-stream'],
        response: errorResponses,
      },
    },
    async (request, reply) => {
      const pack = await packs.get(request.params.digest);
      const etag = `"${pack.digest}"`;
      if (matchesEtag(request.headers['if-none-match'], etag)) {
        return reply.code(304).header('etag', etag).send();
      }
      const ifRange = request.headers['if-range'];
      const range =
        ifRange === undefined || ifRange === etag
          ? resolveRange(request.headers.range, pack.size)
          : ({ kind: 'full' } as const);
      if (range.kind === 'unsatisfiable') {
        // The error list has no 416 code yet: answer in the error shape with BAD_REQUEST.
        return reply
          .code(416)
          .header('content-range', `bytes */${pack.size}`)
          .send({
            code: 'BAD_REQUEST',
            message: `The requested range is not satisfiable; the pack file has ${pack.size} bytes.`,
            details: { size: pack.size },
          });
      }
      const stream = await packs.openFile(
        pack.digest,
        range.kind === 'partial' ? range : undefined,
      );
      void reply
        .header('etag', etag)
        .header('accept-ranges', 'bytes')
        .type('application/octet-stream');
      if (range.kind === 'partial') {
        return reply
          .code(206)
          .header('content-range', `bytes ${range.start}-${range.end}/${pack.size}`)
          .header('content-length', range.end - range.start + 1)
          .send(stream);
      }
      return reply.code(200).header('content-length', pack.size).send(stream);
    },
  );
}
