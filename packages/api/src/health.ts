/** Liveness and readiness (outside the API prefix, no token). */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';

export const LivenessResponse = Type.Object({ status: Type.Literal('ok') });
export type LivenessResponse = Static<typeof LivenessResponse>;

export const ReadyResponse = Type.Object({ status: Type.Literal('ready') });
export const NotReadyResponse = Type.Object({ status: Type.Literal('unavailable') });
export type ReadinessResponse = Static<typeof ReadyResponse> | Static<typeof NotReadyResponse>;
