import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../../http/auth.ts';
import { errorResponses, Name, StringEnum } from '../../http/schemas.ts';
import {
  CHANNEL_PATTERN_PATTERN,
  MAX_SCOPE_PATTERNS,
  TARGET_PATTERN_PATTERN,
} from './token-scope.ts';
import { TOKEN_ROLES } from './token-service.ts';
import type { TokenService } from './token-service.ts';

const Role = StringEnum(TOKEN_ROLES, {
  description:
    'admin: everything; operator: all but tokens; agent: what an agent calls, within its scope',
});

const ScopeSchema = Type.Object(
  {
    targets: Type.Array(
      Type.String({
        pattern: TARGET_PATTERN_PATTERN,
        description: 'a target id, or a pattern where * is any run of characters: host-*',
      }),
      { minItems: 1, maxItems: MAX_SCOPE_PATTERNS },
    ),
    channels: Type.Array(
      Type.String({
        pattern: CHANNEL_PATTERN_PATTERN,
        description: 'ENV/CHANNEL; either part may be * (any): prod-eu/*',
      }),
      { minItems: 1, maxItems: MAX_SCOPE_PATTERNS },
    ),
  },
  {
    additionalProperties: false,
    description:
      'What an agent token speaks for: it may register, report for and read the desired pack of ' +
      'a target only when the target id matches one of targets and its channel one of channels, ' +
      'and read the index and events of those channels only (docs/security.md).',
  },
);

export const TokenSchema = Type.Object(
  {
    name: Type.String({ description: 'the principal recorded as actor' }),
    role: Role,
    createdAt: Type.String(),
    revokedAt: Type.Union([Type.String(), Type.Null()]),
    scope: Type.Optional(ScopeSchema),
  },
  { $id: 'Token', additionalProperties: false },
);

const CreateBody = Type.Object(
  { name: Name, role: Role, scope: Type.Optional(ScopeSchema) },
  { additionalProperties: false },
);

const NameParams = Type.Object({ name: Name }, { additionalProperties: false });

const TokenResponse = Type.Object({ token: Type.Ref(TokenSchema) });

export function tokenRoutes(app: FastifyInstance, options: { tokens: TokenService }): void {
  const { tokens } = options;

  app.post<{ Body: Static<typeof CreateBody> }>(
    '/tokens',
    {
      schema: {
        summary: 'Create an API token (admin only)',
        description:
          'The secret is in this answer only; the server keeps its sha256. An agent token needs ' +
          'a scope (VALIDATION_FAILED without one); other roles take none. CONFLICT when the ' +
          'name is taken (revoked tokens included) or reserved (admin, controller).',
        tags: ['tokens'],
        body: CreateBody,
        response: {
          201: Type.Object({ token: Type.Ref(TokenSchema), secret: Type.String() }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const created = await tokens.create(request.body, actorOf(request).name);
      return reply.code(201).send(created);
    },
  );

  app.get(
    '/tokens',
    {
      schema: {
        summary: 'List API tokens, revoked ones too (admin only)',
        tags: ['tokens'],
        response: {
          200: Type.Object({ items: Type.Array(Type.Ref(TokenSchema)) }),
          ...errorResponses,
        },
      },
    },
    async () => ({ items: await tokens.list() }),
  );

  app.delete<{ Params: Static<typeof NameParams> }>(
    '/tokens/:name',
    {
      schema: {
        summary: 'Revoke an API token (admin only)',
        description:
          'Refused with 401 from now on; its open event streams end at once. TOKEN_NOT_FOUND; ' +
          'CONFLICT when no active admin token would be left.',
        tags: ['tokens'],
        params: NameParams,
        response: { 200: TokenResponse, ...errorResponses },
      },
    },
    async (request) => ({
      token: await tokens.revoke(request.params.name, actorOf(request).name),
    }),
  );
}
