import {
  COMPARE_METRICS,
  GATE_MODES,
  GATE_ON_FAIL,
  GATE_OPERATORS,
  MAX_PROMETHEUS_QUERY_LENGTH,
} from '@lockgate/core';
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../../http/auth.ts';
import {
  BoundedNumber,
  errorResponses,
  INT32_MIN,
  Integer,
  JsonObject,
  Name,
  StringEnum,
} from '../../http/schemas.ts';
import type { PlanService } from './plan-service.ts';

export const PlanSchema = Type.Object(
  {
    name: Type.String(),
    stages: Type.Array(JsonObject),
    builtin: Type.Boolean(),
    updatedAt: Type.Union([Type.String(), Type.Null()]),
    updatedBy: Type.Union([Type.String(), Type.Null()]),
  },
  { $id: 'Plan', additionalProperties: false },
);

/** Signed: core validatePlan judges the ranges and names each problem (PLAN_INVALID). */
const PlanInteger = Integer({ minimum: INT32_MIN });

/** Every gate kind: enforce or only record (shadow), and roll back or pause on fail. */
const GatePolicyFields = {
  mode: Type.Optional(StringEnum(GATE_MODES)),
  onFail: Type.Optional(StringEnum(GATE_ON_FAIL)),
};

const GateBody = Type.Object(
  {
    ...GatePolicyFields,
    metric: Type.String({
      minLength: 1,
      maxLength: 160,
      description:
        'error_rate, activation_success_rate, latency_p95_ms, latency_p99_ms or signal:NAME',
    }),
    op: StringEnum(GATE_OPERATORS),
    threshold: BoundedNumber(),
    windowSeconds: PlanInteger,
    minTargets: PlanInteger,
    minSamples: PlanInteger,
  },
  { additionalProperties: false },
);

const PrometheusGateBody = Type.Object(
  {
    ...GatePolicyFields,
    provider: Type.Literal('prometheus'),
    query: Type.String({
      minLength: 1,
      maxLength: MAX_PROMETHEUS_QUERY_LENGTH,
      description:
        'PromQL; {{release}} {{pack}} {{env}} {{channel}} {{window}} and {{targets}} (the ' +
        "stage's target ids as a regex) are replaced before it is asked",
    }),
    op: StringEnum(GATE_OPERATORS),
    threshold: BoundedNumber(),
    windowSeconds: PlanInteger,
  },
  { additionalProperties: false },
);

const CompareGateBody = Type.Object(
  {
    ...GatePolicyFields,
    kind: Type.Literal('compare'),
    metric: StringEnum(COMPARE_METRICS),
    alpha: BoundedNumber(),
    margin: Type.Union([
      Type.Object({ relative: BoundedNumber() }, { additionalProperties: false }),
      Type.Object({ absolute: BoundedNumber() }, { additionalProperties: false }),
    ]),
    minSamples: PlanInteger,
    windowSeconds: PlanInteger,
    latencyBoundsMs: Type.Optional(Type.Array(BoundedNumber(), { maxItems: 8 })),
    mixtureScale: Type.Optional(BoundedNumber()),
  },
  {
    additionalProperties: false,
    description: 'canary against the stage baseline (docs/judgment.md)',
  },
);

const StageBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 63 }),
    percent: BoundedNumber(),
    cohort: Type.Optional(Name),
    soakSeconds: PlanInteger,
    gates: Type.Array(Type.Union([GateBody, PrometheusGateBody, CompareGateBody]), {
      maxItems: 32,
    }),
    approvals: Type.Optional(PlanInteger),
    progressDeadlineSeconds: Type.Optional(PlanInteger),
    baseline: Type.Optional(
      Type.Object(
        { count: Type.Optional(PlanInteger), percent: Type.Optional(BoundedNumber()) },
        { additionalProperties: false },
      ),
    ),
    endSoakOnPass: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const PutBody = Type.Object(
  { stages: Type.Array(StageBody, { maxItems: 64 }) },
  { additionalProperties: false },
);

const NameParams = Type.Object({ name: Name }, { additionalProperties: false });
const PlanResponse = Type.Object({ plan: Type.Ref(PlanSchema) });

export function planRoutes(app: FastifyInstance, options: { plans: PlanService }): void {
  const { plans } = options;

  app.get(
    '/plans',
    {
      schema: {
        summary: 'List plans: the built-ins (canary, all-at-once), then user plans',
        tags: ['plans'],
        response: {
          200: Type.Object({ items: Type.Array(Type.Ref(PlanSchema)) }),
          ...errorResponses,
        },
      },
    },
    async () => ({ items: await plans.list() }),
  );

  app.get<{ Params: Static<typeof NameParams> }>(
    '/plans/:name',
    {
      schema: {
        summary: 'One plan',
        tags: ['plans'],
        params: NameParams,
        response: { 200: PlanResponse, ...errorResponses },
      },
    },
    async (request) => ({ plan: await plans.get(request.params.name) }),
  );

  app.put<{ Params: Static<typeof NameParams>; Body: Static<typeof PutBody> }>(
    '/plans/:name',
    {
      schema: {
        summary: 'Create or replace a user plan',
        description:
          'Checked by core validatePlan: PLAN_INVALID with details.problems. Built-in names ' +
          'cannot be replaced. 201 when created, 200 when replaced.',
        tags: ['plans'],
        params: NameParams,
        body: PutBody,
        response: { 200: PlanResponse, 201: PlanResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { plan, created } = await plans.put(
        request.params.name,
        request.body.stages,
        actorOf(request).name,
      );
      return reply.code(created ? 201 : 200).send({ plan });
    },
  );
}
