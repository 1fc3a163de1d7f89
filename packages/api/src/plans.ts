/** Rollout plans: ordered stages with gates, soak and approvals. */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import {
  BoundedNumber,
  GATE_OPERATORS,
  INT32_MIN,
  Integer,
  JsonObjectOf,
  Name,
  StringEnum,
} from './vocabulary.ts';

/** The metrics a health gate reads besides a target's own signals (core `BUILTIN_METRICS`). */
export const BUILTIN_METRICS = [
  'activation_success_rate',
  'error_rate',
  'latency_p95_ms',
  'latency_p99_ms',
] as const;
export type HealthMetric = (typeof BUILTIN_METRICS)[number] | `signal:${string}`;

/** Signed: core validatePlan judges the ranges and names each problem (PLAN_INVALID). */
const PlanInteger = Integer({ minimum: INT32_MIN });

export const HealthGateBody = Type.Object(
  {
    // Any text on the wire (core validatePlan names an unknown metric); typed as HealthMetric.
    metric: Type.Unsafe<HealthMetric>(
      Type.String({
        minLength: 1,
        maxLength: 160,
        description:
          'error_rate, activation_success_rate, latency_p95_ms, latency_p99_ms or signal:NAME',
      }),
    ),
    op: StringEnum(GATE_OPERATORS),
    threshold: BoundedNumber(),
    windowSeconds: PlanInteger,
    minTargets: PlanInteger,
    minSamples: PlanInteger,
  },
  { additionalProperties: false },
);
export type HealthGateView = Static<typeof HealthGateBody>;

/** The longest PromQL a Prometheus gate may carry (core `MAX_PROMETHEUS_QUERY_LENGTH`). */
export const MAX_PROMETHEUS_QUERY_LENGTH = 4096;

/** A gate judged on a Prometheus query's answer, asked by the controller (core prometheus-gate). */
export const PrometheusGateBody = Type.Object(
  {
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
export type PrometheusGateView = Static<typeof PrometheusGateBody>;

export const StageBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 63 }),
    percent: BoundedNumber(),
    cohort: Type.Optional(Name),
    soakSeconds: PlanInteger,
    gates: Type.Array(Type.Union([HealthGateBody, PrometheusGateBody]), { maxItems: 32 }),
    approvals: Type.Optional(PlanInteger),
    progressDeadlineSeconds: Type.Optional(PlanInteger),
  },
  { additionalProperties: false },
);
export type StageView = Static<typeof StageBody>;

/** A plan as releases carry it. */
export interface PlanView {
  name: string;
  stages: StageView[];
}

export const PlanSchema = Type.Object(
  {
    name: Type.String(),
    stages: Type.Array(JsonObjectOf<StageView>()),
    builtin: Type.Boolean(),
    updatedAt: Type.Union([Type.String(), Type.Null()]),
    updatedBy: Type.Union([Type.String(), Type.Null()]),
  },
  { $id: 'Plan', additionalProperties: false },
);
export type PlanRecordView = Static<typeof PlanSchema>;

export const PutPlanBody = Type.Object(
  { stages: Type.Array(StageBody, { maxItems: 64 }) },
  { additionalProperties: false },
);
export type PutPlanBody = Static<typeof PutPlanBody>;

export const PlanNameParams = Type.Object({ name: Name }, { additionalProperties: false });
export type PlanNameParams = Static<typeof PlanNameParams>;

export const PlanResponse = Type.Object({ plan: Type.Ref(PlanSchema) });
export type PlanResponse = Static<typeof PlanResponse>;

export const PlanListResponse = Type.Object({ items: Type.Array(Type.Ref(PlanSchema)) });
export type PlanListResponse = Static<typeof PlanListResponse>;
