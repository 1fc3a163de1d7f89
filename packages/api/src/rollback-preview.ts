/**
 * `GET /releases/{id}/rollback-preview`: what a rollback (or a whole-channel pin for a release
 * that ended) would do to the channel's targets, computed with core `indexImpact` on the index it
 * would sign, and why the channel would refuse it, before anyone clicks.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { StringEnum } from './vocabulary.ts';

/**
 * rollback: the release's own rollback (rolling or paused; to the pin, else LKG, else the base);
 * pin: a whole-channel pin of `to` (or the LKG when `to` is absent), how a release that ended is
 * taken back.
 */
export const ROLLBACK_SCOPES = ['rollback', 'pin'] as const;
export type RollbackScope = (typeof ROLLBACK_SCOPES)[number];

export const RollbackPreviewQuery = Type.Object(
  {
    scope: Type.Optional(StringEnum(ROLLBACK_SCOPES)),
    to: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 512,
        description: 'pin only: digest or name@version',
      }),
    ),
  },
  { additionalProperties: false },
);
export type RollbackPreviewQuery = Static<typeof RollbackPreviewQuery>;

const NullableString = Type.Union([Type.String(), Type.Null()]);

export const RollbackPreviewResponse = Type.Object(
  {
    release: Type.String(),
    env: Type.String(),
    channel: Type.String(),
    scope: StringEnum(ROLLBACK_SCOPES),
    /** the pack the channel would return to (null: the rollout is cleared, the base stays) */
    to: NullableString,
    /** why the channel refuses it now, each with its stable code; [] = it would be done */
    refusals: Type.Array(
      Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: false }),
    ),
    indexVersion: Type.Integer({ description: 'the version of the index the preview starts from' }),
    at: Type.String(),
    targets: Type.Integer(),
    moves: Type.Array(
      Type.Object(
        {
          from: NullableString,
          to: NullableString,
          targets: Type.Integer(),
          sample: Type.Array(Type.String()),
        },
        { additionalProperties: false },
      ),
    ),
    stays: Type.Array(
      Type.Object(
        { pack: NullableString, targets: Type.Integer(), sample: Type.Array(Type.String()) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type RollbackPreviewResponse = Static<typeof RollbackPreviewResponse>;
