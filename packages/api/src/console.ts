/** What the console needs beyond the resource routes: sign-in with a one-time code, the session. */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';

export const ConsoleSignInBody = Type.Object(
  { code: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' }) },
  { additionalProperties: false },
);

export const ConsoleSessionSchema = Type.Object(
  { name: Type.String(), role: Type.String() },
  { additionalProperties: false },
);

export type ConsoleSignInBody = Static<typeof ConsoleSignInBody>;
export type ConsoleSessionView = Static<typeof ConsoleSessionSchema>;
