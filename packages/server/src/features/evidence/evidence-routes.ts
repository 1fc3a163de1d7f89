import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { errorResponses } from '../../http/schemas.ts';
import type { TokenRole } from '../tokens/token-service.ts';
import type { EvidenceService } from './evidence-service.ts';

/** Who reads a release's evidence: the readers of the log (admin, operator); not agents. */
export const EVIDENCE_ROLES: readonly TokenRole[] = ['admin', 'operator'];

const IdParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' }) },
  { additionalProperties: false },
);

const Status = Type.Union([Type.Literal('sealed'), Type.Literal('pending')]);

const EvidenceRecord = Type.Object(
  {
    seq: Type.Integer(),
    digest: Type.String(),
    at: Type.String(),
    kind: Type.String(),
    rule: Type.String(),
    actor: Type.String(),
    verdict: Type.String(),
    stageIndex: Type.Union([Type.Integer(), Type.Null()]),
    status: Status,
  },
  { additionalProperties: false },
);

const EvidenceCheckpoint = Type.Object(
  {
    name: Type.String(),
    status: Type.Union([Status, Type.Literal('not_reached'), Type.Literal('not_required')]),
    stageIndex: Type.Optional(Type.Integer()),
    stage: Type.Optional(Type.String()),
    gates: Type.Optional(Type.Array(Type.Unknown())),
    attestation: Type.Optional(
      Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
    ),
    outcome: Type.Optional(Type.String()),
    records: Type.Array(EvidenceRecord),
  },
  { additionalProperties: false },
);

const ReleaseEvidenceSchema = Type.Object(
  {
    release: Type.String(),
    state: Type.String(),
    pack: Type.String(),
    log: Type.Object(
      { origin: Type.String(), checkpointSize: Type.Integer() },
      { additionalProperties: false },
    ),
    sealed: Type.Boolean(),
    seal: Type.Union([
      Type.Object(
        {
          seq: Type.Integer(),
          digest: Type.String(),
          recordsDigest: Type.String(),
          count: Type.Integer(),
        },
        { additionalProperties: false },
      ),
      Type.Null(),
    ]),
    checkpoints: Type.Array(EvidenceCheckpoint),
    pending: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);

export function evidenceRoutes(app: FastifyInstance, options: { evidence: EvidenceService }): void {
  const { evidence } = options;
  const config = { roles: EVIDENCE_ROLES };

  app.get<{ Params: { id: string } }>(
    '/releases/:id/evidence',
    {
      config,
      schema: {
        summary:
          "A release's evidence timeline: each run checkpoint (requested, verified, approvals, " +
          'stages with gate verdicts and activation attestations, end, seal), sealed or pending',
        tags: ['evidence'],
        params: IdParams,
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
        params: IdParams,
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
