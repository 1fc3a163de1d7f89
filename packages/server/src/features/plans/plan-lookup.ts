/** Plans by name, built-in or stored: what other features resolve a plan name with. */
import { BUILTIN_PLANS, LockgateError } from '@lockgate/core';
import type { Plan } from '@lockgate/core';
import type { StoresOf } from '../../stores.ts';

export function isBuiltin(name: string): name is keyof typeof BUILTIN_PLANS {
  return Object.hasOwn(BUILTIN_PLANS, name);
}

/** True when a built-in or user plan has this name. */
export async function planExists(tx: StoresOf<'plans'>, name: string): Promise<boolean> {
  return isBuiltin(name) || (await tx.plans.find(name)) !== null;
}

/** A copy of the built-in or user plan of this name; PLAN_NOT_FOUND. */
export async function resolvePlan(tx: StoresOf<'plans'>, name: string): Promise<Plan> {
  if (isBuiltin(name)) return structuredClone(BUILTIN_PLANS[name]);
  const stored = await tx.plans.find(name);
  if (stored === null) throw planNotFound(name);
  return stored.plan;
}

export function planNotFound(name: string): LockgateError {
  return new LockgateError('PLAN_NOT_FOUND', `No plan is named ${name}.`, {
    details: { plan: name },
  });
}
