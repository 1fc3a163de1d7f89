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

/** Whether a gate acts (enforce) or is only recorded (shadow); core `GATE_MODES`. */
export const GATE_MODES = ['enforce', 'shadow'] as const;
/** What a failed enforcing gate does; core `GATE_ON_FAIL`. */
export const GATE_ON_FAIL = ['rollback', 'pause'] as const;
/** The metrics a compare gate judges canary against baseline on; core `COMPARE_METRICS`. */
export const COMPARE_METRICS = ['error_rate', 'activation_failure_rate', 'latency'] as const;

/** Every gate kind: enforce or only record (shadow), and roll back or pause on fail. */
const GatePolicyFields = {
  mode: Type.Optional(StringEnum(GATE_MODES)),
  onFail: Type.Optional(StringEnum(GATE_ON_FAIL)),
};

export const HealthGateBody = Type.Object(
  {
    ...GatePolicyFields,
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
export type PrometheusGateView = Static<typeof PrometheusGateBody>;

/** Canary against the stage's baseline with a sequential test (docs/judgment.md). */
export const CompareGateBody = Type.Object(
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
    historySeconds: Type.Optional(PlanInteger),
  },
  {
    additionalProperties: false,
    description: 'canary against the stage baseline (docs/judgment.md)',
  },
);
export type CompareGateView = Static<typeof CompareGateBody>;

export const StageBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 63 }),
    percent: BoundedNumber(),
    cohort: Type.Optional(Name),
    soakSeconds: PlanInteger,
    gates: Type.Array(Type.Union([HealthGateBody, PrometheusGateBody, CompareGateBody]), {
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
