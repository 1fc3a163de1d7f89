/** What the console needs beyond the resource routes: sign-in with a one-time code, the session. */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { TokenRoleSchema } from './tokens.ts';

export const ConsoleSignInBody = Type.Object(
  { code: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' }) },
  { additionalProperties: false },
);

export const ConsoleSessionSchema = Type.Object(
  { name: Type.String(), role: TokenRoleSchema },
  { additionalProperties: false },
);

export type ConsoleSignInBody = Static<typeof ConsoleSignInBody>;
export type ConsoleSessionView = Static<typeof ConsoleSessionSchema>;

/** One `event: change` of `GET /events`: a decision record appended to the log, in short. */
export const ConsoleEventSchema = Type.Object(
  {
    seq: Type.Integer(),
    kind: Type.String(),
    rule: Type.String(),
    release: Type.Union([Type.String(), Type.Null()]),
    env: Type.Union([Type.String(), Type.Null()]),
    channel: Type.Union([Type.String(), Type.Null()]),
    verdict: Type.String(),
    at: Type.String(),
  },
  { additionalProperties: false },
);
export type ConsoleEventView = Static<typeof ConsoleEventSchema>;

/** `POST /console/sign-in`: the token the code stood for, and who it is. */
export const ConsoleSignInResponse = Type.Object(
  { token: Type.String(), session: ConsoleSessionSchema },
  { additionalProperties: false },
);
export type ConsoleSignInResponse = Static<typeof ConsoleSignInResponse>;
