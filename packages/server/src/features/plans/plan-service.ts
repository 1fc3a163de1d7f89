import { BUILTIN_PLANS, LockgateError, validatePlan } from '@lockgate/core';
import type { Stage } from '@lockgate/core';
import type { Clock } from '../../clock.ts';
import type { StoresOf } from '../../stores.ts';
import { isBuiltin, planNotFound } from './plan-lookup.ts';

/** The stores this module uses, and no others. */
type UsedStores = StoresOf<'plans'>;

export interface PlanView {
  name: string;
  stages: Stage[];
  /** built-in plans come with the server and cannot be replaced */
  builtin: boolean;
  /** null for built-in plans */
  updatedAt: string | null;
  updatedBy: string | null;
}

export interface PlanService {
  /** The built-in plans first, then the user plans by name. */
  list(): Promise<PlanView[]>;
  /** PLAN_NOT_FOUND when unknown. */
  get(name: string): Promise<PlanView>;
  /**
   * Creates or replaces a user plan after core validatePlan (PLAN_INVALID with
   * details.problems); a built-in name is PLAN_INVALID too.
   */
  put(name: string, stages: unknown, actor: string): Promise<{ plan: PlanView; created: boolean }>;
}

export function createPlanService(deps: { stores: UsedStores; clock: Clock }): PlanService {
  const { stores, clock } = deps;
  const builtins = (): PlanView[] =>
    Object.values(BUILTIN_PLANS).map((plan) => ({
      name: plan.name,
      stages: structuredClone(plan.stages),
      builtin: true,
      updatedAt: null,
      updatedBy: null,
    }));

  return {
    async list() {
      const user = (await stores.plans.list()).map((stored): PlanView => ({
        name: stored.plan.name,
        stages: stored.plan.stages,
        builtin: false,
        updatedAt: stored.updatedAt,
        updatedBy: stored.updatedBy,
      }));
      return [...builtins(), ...user];
    },

    async get(name) {
      const builtin = builtins().find((plan) => plan.name === name);
      if (builtin !== undefined) return builtin;
      const stored = await stores.plans.find(name);
      if (stored === null) throw planNotFound(name);
      return {
        name,
        stages: stored.plan.stages,
        builtin: false,
        updatedAt: stored.updatedAt,
        updatedBy: stored.updatedBy,
      };
    },

    async put(name, stages, actor) {
      if (isBuiltin(name)) {
        throw new LockgateError('PLAN_INVALID', `The built-in plan ${name} cannot be replaced.`, {
          details: { problems: [`plan.name ${name} is a built-in plan`] },
        });
      }
      const plan = validatePlan({ name, stages });
      const at = clock().toISOString();
      const created = await stores.plans.upsert({
        plan,
        createdAt: at,
        createdBy: actor,
        updatedAt: at,
        updatedBy: actor,
      });
      return {
        plan: { name, stages: plan.stages, builtin: false, updatedAt: at, updatedBy: actor },
        created,
      };
    },
  };
}
