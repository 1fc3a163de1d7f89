/** Channels: configuration, pins, rollback authorizations, the signed index and its events. */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import {
  BoundedNumber,
  Duration,
  Integer,
  JsonObjectOf,
  Name,
  NAME_PATTERN,
  Reason,
  RECORD_ID_PATTERN,
  SELECTOR_OPERATORS,
  StringEnum,
  StringMap,
} from './vocabulary.ts';

export const LabelSelectorSchema = Type.Object(
  {
    matchLabels: Type.Optional(StringMap),
    matchExpressions: Type.Optional(
      Type.Array(
        Type.Object(
          {
            key: Type.String({ minLength: 1, maxLength: 317 }),
            operator: StringEnum(SELECTOR_OPERATORS),
            values: Type.Optional(Type.Array(Type.String({ maxLength: 63 }), { maxItems: 256 })),
          },
          { additionalProperties: false },
        ),
        { maxItems: 64 },
      ),
    ),
  },
  { additionalProperties: false },
);
export type LabelSelectorView = Static<typeof LabelSelectorSchema>;

export const CohortBody = Type.Object(
  {
    name: Name,
    selector: Type.Optional(LabelSelectorSchema),
    percent: Type.Optional(BoundedNumber({ minimum: 0, maximum: 100 })),
  },
  { additionalProperties: false },
);
export type CohortView = Static<typeof CohortBody>;

export const PinSchema = Type.Object(
  {
    env: Type.String(),
    channel: Type.String(),
    cohort: Type.String({ description: "'_' for the whole channel, else a channel cohort" }),
    selector: Type.Union([JsonObjectOf<LabelSelectorView>(), Type.Null()]),
    pack: Type.String(),
    reason: Type.String(),
    actor: Type.String(),
    createdAt: Type.String(),
    expiresAt: Type.String(),
  },
  { $id: 'Pin', additionalProperties: false },
);
export type PinView = Static<typeof PinSchema>;

export const RollbackAuthorizationSchema = Type.Object(
  {
    id: Type.String(),
    env: Type.String(),
    channel: Type.String(),
    pack: Type.String(),
    reason: Type.String(),
    actor: Type.String(),
    createdAt: Type.String(),
    expiresAt: Type.String(),
  },
  { $id: 'RollbackAuthorization', additionalProperties: false },
);
export type RollbackAuthorizationView = Static<typeof RollbackAuthorizationSchema>;

export const ChannelSchema = Type.Object(
  {
    env: Type.String(),
    name: Type.String(),
    plan: Type.String({ description: 'the default plan of new releases' }),
    floor: Type.Union([Type.Integer(), Type.Null()]),
    constraints: Type.Record(Type.String(), Type.String()),
    cohorts: Type.Array(JsonObjectOf<CohortView>()),
    indexTtlSeconds: Type.Integer(),
    base: Type.Union([Type.String(), Type.Null()]),
    lkg: Type.Union([Type.String(), Type.Null()]),
    pins: Type.Array(Type.Ref(PinSchema)),
    revoked: Type.Array(Type.String()),
    rollbackAuthorizations: Type.Array(Type.Ref(RollbackAuthorizationSchema)),
    activeRelease: Type.Union([Type.String(), Type.Null()]),
    indexVersion: Type.Integer(),
    updatedAt: Type.String(),
  },
  { $id: 'Channel', additionalProperties: false },
);
export type ChannelView = Static<typeof ChannelSchema>;

export const ChannelParams = Type.Object(
  { env: Name, channel: Name },
  { additionalProperties: false },
);
export type ChannelParams = Static<typeof ChannelParams>;

export const PinParams = Type.Object(
  {
    env: Name,
    channel: Name,
    cohort: Type.String({
      pattern: `^_$|${NAME_PATTERN}`,
      description: "'_' for the whole channel, else a channel cohort",
    }),
  },
  { additionalProperties: false },
);
export type PinParams = Static<typeof PinParams>;

export const PutChannelBody = Type.Object(
  {
    plan: Type.Optional(Name),
    floor: Type.Optional(Type.Union([Integer(), Type.Null()])),
    constraints: Type.Optional(StringMap),
    cohorts: Type.Optional(Type.Array(CohortBody, { maxItems: 256 })),
    indexTtlSeconds: Type.Optional(Integer({ minimum: 60, maximum: 30 * 86_400 })),
    reason: Type.Optional(Reason),
    acceptBaseBelowFloor: Type.Optional(
      Type.Boolean({
        description:
          "Confirms a floor above the base's sequence (recorded); FLOOR_ABOVE_BASE without it.",
      }),
    ),
  },
  { additionalProperties: false },
);
export type PutChannelBody = Static<typeof PutChannelBody>;

export const SetPinBody = Type.Object(
  {
    pack: Type.String({ minLength: 1, maxLength: 512, description: 'digest or name@version' }),
    reason: Reason,
    expiresIn: Type.Optional(Duration),
    expiresAt: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);
export type SetPinBody = Static<typeof SetPinBody>;

/** The body of removals that are recorded with a reason (pins, authorizations, freezes). */
export const ReasonBody = Type.Object({ reason: Reason }, { additionalProperties: false });
export type ReasonBody = Static<typeof ReasonBody>;

export const AuthorizeRollbackBody = Type.Object(
  {
    pack: Type.String({ minLength: 1, maxLength: 512, description: 'digest or name@version' }),
    reason: Reason,
    expiresIn: Duration,
  },
  { additionalProperties: false },
);
export type AuthorizeRollbackBody = Static<typeof AuthorizeRollbackBody>;

export const RollbackAuthorizationParams = Type.Object(
  {
    env: Name,
    channel: Name,
    id: Type.String({ minLength: 1, maxLength: 128, pattern: RECORD_ID_PATTERN }),
  },
  { additionalProperties: false },
);
export type RollbackAuthorizationParams = Static<typeof RollbackAuthorizationParams>;

export const RollbackAuthorizationResponse = Type.Object({
  rollbackAuthorization: Type.Ref(RollbackAuthorizationSchema),
});
export type RollbackAuthorizationResponse = Static<typeof RollbackAuthorizationResponse>;

export const RollbackAuthorizationListResponse = Type.Object({
  items: Type.Array(Type.Ref(RollbackAuthorizationSchema)),
});
export type RollbackAuthorizationListResponse = Static<typeof RollbackAuthorizationListResponse>;

export const ChannelResponse = Type.Object({ channel: Type.Ref(ChannelSchema) });
export type ChannelResponse = Static<typeof ChannelResponse>;

export const PinResponse = Type.Object({ pin: Type.Ref(PinSchema) });
export type PinResponse = Static<typeof PinResponse>;

/** `GET /channels/{env}/{channel}/index`: the signed channel index. */
export const DsseEnvelopeSchema = Type.Object(
  {
    payloadType: Type.String(),
    payload: Type.String({ description: 'base64 of the JCS channel index payload' }),
    signatures: Type.Array(
      Type.Object({ keyid: Type.String(), sig: Type.String() }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
);
export type DsseEnvelopeView = Static<typeof DsseEnvelopeSchema>;

/** The data of an `event: index` of `GET /channels/{env}/{channel}/events`. */
export interface ChannelIndexEvent {
  version: number;
}
