/** API tokens: roles and, for agent tokens, the targets and channels they speak for. */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { Name, StringEnum, TOKEN_ROLES } from './vocabulary.ts';

/** Most patterns one list of a token scope may hold. */
export const MAX_SCOPE_PATTERNS = 64;

/** A target id (letters, digits, `.` `_` `:` `-`) in which `*` may also appear. */
export const TARGET_PATTERN_PATTERN = '^[A-Za-z0-9*][A-Za-z0-9._:*-]{0,254}$';

const NAME_OR_ANY = '(?:\\*|[a-z0-9][a-z0-9-]{0,62})';

/** `ENV/CHANNEL`, each a name or `*`. */
export const CHANNEL_PATTERN_PATTERN = `^${NAME_OR_ANY}/${NAME_OR_ANY}$`;

export const TokenRoleSchema = StringEnum(TOKEN_ROLES, {
  description:
    'admin: everything; operator: all but tokens; agent: what an agent calls, within its scope; ' +
    'viewer: read only (every GET an operator may make)',
});

export const TokenScopeSchema = Type.Object(
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
export type TokenScopeView = Static<typeof TokenScopeSchema>;

export const TokenSchema = Type.Object(
  {
    name: Type.String({ description: 'the principal recorded as actor' }),
    role: TokenRoleSchema,
    createdAt: Type.String(),
    revokedAt: Type.Union([Type.String(), Type.Null()]),
    scope: Type.Optional(TokenScopeSchema),
  },
  { $id: 'Token', additionalProperties: false },
);
export type TokenView = Static<typeof TokenSchema>;

export const CreateTokenBody = Type.Object(
  { name: Name, role: TokenRoleSchema, scope: Type.Optional(TokenScopeSchema) },
  { additionalProperties: false },
);
export type CreateTokenBody = Static<typeof CreateTokenBody>;

export const CreateTokenResponse = Type.Object({
  token: Type.Ref(TokenSchema),
  secret: Type.String(),
});
export type CreateTokenResponse = Static<typeof CreateTokenResponse>;

export const TokenNameParams = Type.Object({ name: Name }, { additionalProperties: false });
export type TokenNameParams = Static<typeof TokenNameParams>;

export const TokenResponse = Type.Object({ token: Type.Ref(TokenSchema) });
export type TokenResponse = Static<typeof TokenResponse>;

export const TokenListResponse = Type.Object({ items: Type.Array(Type.Ref(TokenSchema)) });
export type TokenListResponse = Static<typeof TokenListResponse>;
