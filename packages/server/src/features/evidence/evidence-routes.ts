import type { FastifyInstance } from 'fastify';
import { errorResponses, EvidenceReleaseParams, ReleaseEvidenceSchema } from '@lockgate/api';
import { READERS } from '../../http/route-roles.ts';
import type { EvidenceService } from './evidence-service.ts';

export function evidenceRoutes(app: FastifyInstance, options: { evidence: EvidenceService }): void {
  const { evidence } = options;
  const config = { roles: READERS };

  app.get<{ Params: { id: string } }>(
    '/releases/:id/evidence',
    {
      config,
      schema: {
        summary:
          "A release's evidence timeline: each run checkpoint (requested, verified, approvals, " +
          'stages with gate verdicts and activation attestations, end, seal), sealed or pending',
        tags: ['evidence'],
        params: EvidenceReleaseParams,
        response: { 200: ReleaseEvidenceSchema, ...errorResponses },
      },
    },
    async (request) => evidence.timeline(request.params.id),
  );

  app.get<{ Params: { id: string } }>(
    '/releases/:id/evidence/bundle',
    {
      config,
      schema: {
        summary:
          "The release's evidence bundle (.tar.gz, layout in docs/evidence.md), once it ended",
        tags: ['evidence'],
        params: EvidenceReleaseParams,
        produces: ['application/gzip'],
        response: errorResponses,
      },
    },
    async (request, reply) => {
      const { bytes, records, treeSize } = await evidence.bundle(request.params.id);
      return reply
        .type('application/gzip')
        .header(
          'content-disposition',
          `attachment; filename="${request.params.id}.evidence.tar.gz"`,
        )
        .header('x-lockgate-records', String(records))
        .header('x-lockgate-tree-size', String(treeSize))
        .send(Buffer.from(bytes));
    },
  );
}
