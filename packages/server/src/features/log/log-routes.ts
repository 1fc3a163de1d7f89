import type { FastifyInstance } from 'fastify';
import {
  CheckpointListSchema,
  CheckpointsQuery,
  ConsistencyProofSchema,
  ConsistencyQuery,
  CosignatureAcceptedSchema,
  CosignatureBody,
  errorResponses,
  InclusionProofSchema,
  InclusionQuery,
  limitOf,
  LogCheckpointNoteSchema,
  LogEntryParams,
  LogEntrySchema,
  LogKeySchema,
} from '@lockgate/api';
import { OPERATORS, READERS } from '../../http/route-roles.ts';
import type { LogService } from './log-service.ts';

export function logRoutes(app: FastifyInstance, options: { log: LogService }): void {
  const { log } = options;
  // Reads are open to every reader of the fleet's state; a cosignature is an operator's act,
  // authorized on top of the token by the witness key the server trusts.
  const config = { roles: READERS };

  app.get(
    '/log/key',
    {
      config,
      schema: {
        summary: "The log's public key: note verifier key, origin, DSSE key id and PEM",
        tags: ['log'],
        response: { 200: LogKeySchema, ...errorResponses },
      },
    },
    async () => log.key(),
  );

  app.get(
    '/log/checkpoint',
    {
      config,
      schema: {
        summary: 'The latest checkpoint: a C2SP signed note with its witness cosignatures',
        tags: ['log'],
        produces: ['text/plain'],
        response: { 200: LogCheckpointNoteSchema, ...errorResponses },
      },
    },
    async (_request, reply) => {
      const { note } = await log.checkpoint();
      return reply.type('text/plain; charset=utf-8').header('cache-control', 'no-cache').send(note);
    },
  );

  app.get<{ Params: LogEntryParams }>(
    '/log/entries/:seq',
    {
      config,
      schema: {
        summary: 'One log entry: the DSSE envelope of a decision record and its leaf index',
        tags: ['log'],
        params: LogEntryParams,
        response: { 200: LogEntrySchema, ...errorResponses },
      },
    },
    async (request) => log.entry(Number(request.params.seq)),
  );

  app.get<{ Querystring: InclusionQuery }>(
    '/log/proofs/inclusion',
    {
      config,
      schema: {
        summary: 'RFC 9162 inclusion proof of record seq (leaf seq - 1) in the tree of size leaves',
        tags: ['log'],
        querystring: InclusionQuery,
        response: { 200: InclusionProofSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { seq, size } = request.query;
      return log.inclusion(Number(seq), size === undefined ? undefined : Number(size));
    },
  );

  app.get<{ Querystring: ConsistencyQuery }>(
    '/log/proofs/consistency',
    {
      config,
      schema: {
        summary: 'RFC 9162 consistency proof between tree sizes from and to',
        tags: ['log'],
        querystring: ConsistencyQuery,
        response: { 200: ConsistencyProofSchema, ...errorResponses },
      },
    },
    async (request) => log.consistency(Number(request.query.from), Number(request.query.to)),
  );

  app.get<{ Querystring: CheckpointsQuery }>(
    '/log/checkpoints',
    {
      config,
      schema: {
        summary: 'Every stored checkpoint (signed by the log key), oldest first, for auditors',
        tags: ['log'],
        querystring: CheckpointsQuery,
        response: { 200: CheckpointListSchema, ...errorResponses },
      },
    },
    async (request) => ({
      items: await log.checkpoints(Number(request.query.after ?? 0), limitOf(request.query.limit)),
    }),
  );

  app.post<{ Body: CosignatureBody }>(
    '/log/cosignatures',
    {
      config: { roles: OPERATORS },
      schema: {
        summary: 'A witness posts its C2SP cosignature/v1 of a checkpoint',
        tags: ['log'],
        body: CosignatureBody,
        response: { 201: CosignatureAcceptedSchema, ...errorResponses },
      },
    },
    async (request, reply) => reply.code(201).send(await log.addCosignature(request.body)),
  );
}
